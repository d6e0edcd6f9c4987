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
  mode: 'electron' | 'serve' | 'cli'
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

export interface DatasetSummary {
  id: number
  projectId: number
  name: string
  root: string
  classes: string[]
  /** split name -> image count */
  counts: Record<string, number>
  skipped: number
  createdAt: string
}

export interface DatasetDetail extends DatasetSummary {
  report: import('./datasets').ImportReport
}

export interface ImageRef {
  /** absolute path; the server only serves images under a registered dataset root */
  path: string
  label: number
  className: string
}

export interface BNLayerSummary {
  name: string
  stage: string
  channels: number
}

export interface ModelSummary {
  id: number
  projectId: number
  name: string
  path: string
  arch: string
  format: string
  numClasses: number
  parameters: number
  bnLayers: BNLayerSummary[]
  keyReport: { missing: string[]; unexpected: string[]; notes: string[] }
  preprocessing: { inputSize: [number, number]; normalize: string }
  createdAt: string
}

export interface ShiftLayer {
  name: string
  stage: string
  /** mean over channels of |M_t - M_s| / sqrt(Sigma_s + eps) */
  meanShift: number
  /** mean over channels of |log(Sigma_t / Sigma_s)| */
  varShift: number
}

export interface DomainShiftReport {
  modelId?: number
  dataRoot: string
  images: number
  overall: { meanShift: number; varShift: number; score: number }
  layers: ShiftLayer[]
  /** plain-language reading of the score */
  verdict: string
}

/** Table 2-style comparison: methods x eval sets, mean and std over seeds. */
export interface ComparisonTable {
  experimentId: number
  experiment: string
  sets: string[]
  rows: { method: string; runs: number; seeds: number[]; mean: Record<string, number>; std: Record<string, number>; lr: { backbone: number; head: number } }[]
  /** set -> method with the best mean */
  best: Record<string, string>
}
