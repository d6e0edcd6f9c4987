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
  /** wasm only: why the native conv kernels (native/) are not in use, e.g. not built */
  nativeUnavailable?: string
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
  /** running-statistics momentum the checkpoint implies (PyTorch convention; absent in summaries stored by older versions) */
  momentum?: number
  eps?: number
}

/** What a checkpoint says about its BN layers' momentum: its framework's value, or PyTorch's default when it stores none. */
export interface BNMomentumInfo {
  /** distinct momenta over the layers, PyTorch convention */
  values: number[]
  /** true when the checkpoint stores it (TF.js / Keras config); PyTorch state dicts do not */
  stored: boolean
  /** one sentence for the user */
  note: string
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
  /** absent in summaries stored by older versions */
  bnMomentum?: BNMomentumInfo
  keyReport: { missing: string[]; unexpected: string[]; notes: string[] }
  preprocessing: { inputSize: [number, number]; normalize: import('./datasets').NormalizePresetName }
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
  rows: {
    method: string
    runs: number
    seeds: number[]
    mean: Record<string, number>
    std: Record<string, number>
    lr: { backbone: number; head: number }
    /** health warnings of this row's runs */
    warnings: number
    /** reported runs that kept their starting point (best epoch = epoch 0, start) */
    keptStart: number
  }[]
  /** set -> method with the best mean */
  best: Record<string, string>
  /** every health warning of the reported runs, and the failed (e.g. diverged) runs of the experiment */
  health: ComparisonHealthNote[]
}

export interface ComparisonHealthNote {
  runId: number
  method: string
  seed: number
  role: 'single' | 'sweep' | 'final'
  lr: { backbone: number; head: number }
  warning: HealthWarning
}

import type { HealthWarning } from './health'

// ---------------------------------------------------------------- feature-distortion analysis

export interface HistogramData {
  /** bins + 1 ascending edges */
  edges: number[]
  counts: number[]
}

export interface ValueSummary {
  count: number
  mean: number
  /** population standard deviation */
  std: number
  min: number
  max: number
  histogram: HistogramData
}

/** Fig. 1 for one eval set: per-image similarity of penultimate features before vs after fine-tuning. */
export interface SetSimilarity {
  set: string
  n: number
  cosine: ValueSummary
  l2: ValueSummary
  accuracyBefore: number
  accuracyAfter: number
  /** runs with BN conversion: pretrained vs converted features (must agree) */
  convertedCheck?: { maxRelError: number; minCosine: number; ok: boolean }
}

export type ChangeKind = 'conv' | 'gamma' | 'beta' | 'running_mean' | 'running_var'

/** Fig. 2: ||W_after - W_before|| / ||W_before|| per layer and kind, architecture order. */
export interface RelativeChangeRow {
  /** parameter / buffer name, e.g. layer1.0.bn1.running_var */
  name: string
  /** module name, e.g. layer1.0.bn1 */
  layer: string
  kind: ChangeKind
  stage: string
  value: number | null
}

export interface SetShift {
  set: string
  images: number
  meanShift: number
  varShift: number
  score: number
  verdict: string
  layers: ShiftLayer[]
}

export interface RunAnalysis {
  runId: number
  method: string
  /** ID class names in label order */
  classes: string[]
  sets: SetSimilarity[]
  /** 'start': weights when fine-tuning began (converted model for DAFT); 'pretrained': the checkpoint */
  relativeChange: { start: RelativeChangeRow[]; pretrained: RelativeChangeRow[] }
  /** domain-shift meter of every eval set against the pretrained statistics */
  shift: SetShift[]
  seconds: number
  computedAt: string
}

export interface GalleryItem {
  path: string
  label: number
  className: string
  cosine: number
  l2: number
  predBefore: number
  predAfter: number
}

export interface Gallery {
  runId: number
  set: string
  classes: string[]
  perClass: { label: number; className: string; lowest: GalleryItem[]; highest: GalleryItem[] }[]
}

/** Table 4: corruption error per corruption (mean over 5 severities) and mCE, unnormalised. */
export interface RobustnessReport {
  runId: number
  images: number
  cleanError: number
  corruptions: { name: string; errors: number[]; ce: number }[]
  mCE: number
  seconds: number
  note: string
  /**
   * Corruption constants used: CIFAR-10-C's (images whose short side is <= 90 px) or ImageNet-C's (larger
   * images); 'mixed' when the test images fall on both sides. Absent in reports made before it was recorded.
   */
  family?: 'cifar' | 'imagenet' | 'mixed'
  /**
   * The sizes the corruptions were applied at (each image's own size, short side capped at 256), most
   * frequent first, at most 5, with the number of images of each size.
   */
  corruptedAt?: { width: number; height: number; images: number }[]
  /** The working size (square) the corrupted images were then resized to and evaluated at. */
  workingSize?: number
}

/** A `daft worker` of the run queue on Redis (src/main/jobs/queue/), as it announced itself. */
export interface QueueWorkerInfo {
  name: string
  host: string
  backend: string
  device: string
  version: string
  concurrency: number
  /** the runs it trains now: the store (app) that owns each, the run, its job */
  current: { storeId: string; runId: number; jobId: string }[]
  startedAt: string
  lastSeen: string
  /** connected to Redis as a worker of the queue right now (BullMQ's list of workers) */
  online: boolean
}

/** The run queue: in use by this app (null: runs train on this machine), and the saved settings. */
export interface QueueSettings {
  active: { redis: string; shared: string } | null
  /** this store's identity on the queue (run folders are <shared>/runs/<storeId>-<runId>) */
  storeId: string
  saved: { redis: string; shared: string }
  /** the environment overrides the saved settings ($DAFT_REDIS / $DAFT_SHARED, or the command line) */
  overridden: boolean
}
