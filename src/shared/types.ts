/** Domain types shared by main and renderer. Plain data only. */

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'

export interface BackendInfo {
  name: BackendName
  /** human-readable device, e.g. "CPU (wasm SIMD, 1 thread)" or a GPU name */
  device: string
  simd: boolean
  threads: number
  /** why faster backends were not used */
  fallbackReason?: string
  /** custom kernels the project registered on this backend */
  kernels: string[]
}

export interface AppStatus {
  version: string
  mode: 'electron' | 'serve'
  dataDir: string
  engine: { state: 'starting' | 'ready' | 'error' | 'stopped'; backend?: BackendInfo; error?: string; pid?: number }
  runningJob?: { runId: number; name: string } | null
}

export interface ProjectSummary {
  id: number
  name: string
  description: string
  builtIn: boolean
  datasets: number
  models: number
  experiments: number
  createdAt: string
}

export interface DirEntry {
  name: string
  path: string
  isDir: boolean
}

export interface DirListing {
  path: string
  parent: string | null
  entries: DirEntry[]
}
