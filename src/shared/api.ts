/**
 * The one API contract between the renderer and the main-process services.
 *
 * Every operation is named here with its request and response types; both transports (Electron IPC and
 * HTTP) are generated from `API_OPERATIONS`, so an operation that is not listed here cannot be called.
 * Live progress flows the other way as `ApiEvent`s (IPC events / server-sent events).
 */
import type {
  AppStatus,
  BackendInfo,
  ComparisonTable,
  DatasetDetail,
  DatasetSummary,
  DirListing,
  DomainShiftReport,
  ImageRef,
  ModelSummary,
  ProjectSummary,
  RunAnalysis,
  Gallery,
  RobustnessReport,
} from './types'
import type { EpochMetrics, ExperimentSpec, RunStatus, RunSummary } from './experiments'
import type { HeadLrGrid, HeadProbeResult } from './headProbe'
import type { DoctorReport } from './doctor'

export interface ApiOperations {
  /** Version, data directory, engine state and backend, the running job. */
  'app.status': { req: Record<string, never>; res: AppStatus }
  /** Set-up checklist (daft doctor): which tensor backend loads and, for each piece that does not, why and the fix. */
  'app.doctor': { req: Record<string, never>; res: DoctorReport }
  /** Projects in the store (the built-in demo project is always there). */
  'projects.list': { req: Record<string, never>; res: ProjectSummary[] }
  /** Server-side folder browser (the browser has no native folder picker). */
  'fs.listDir': { req: { path?: string }; res: DirListing }
  /** Native folder picker (Electron only); in the browser returns null and the UI shows the folder browser. */
  'fs.pickFolder': { req: { title?: string }; res: string | null }

  /** Imports a folder (ImageFolder, or train/val/test sub-folders) into a project; the report lists every skipped file. */
  'datasets.import': { req: { projectId: number; root: string; name?: string; valFraction?: number }; res: DatasetDetail }
  'datasets.list': { req: { projectId: number }; res: DatasetSummary[] }
  'datasets.get': { req: { id: number }; res: DatasetDetail }
  /** A few images per class of one split, for the preview grid. */
  'datasets.preview': { req: { id: number; split: string; perClass: number }; res: ImageRef[] }
  /** A thumbnail of an image under a registered dataset root, as a data: URL (no file:// URLs). */
  'images.get': { req: { path: string; size?: number }; res: { dataUrl: string; width: number; height: number } }

  /** Registers a checkpoint (.pth/.pt/.th/.tar/.safetensors/model.json): architecture, BN layers, key report. */
  'models.import': { req: { projectId: number; path: string; name?: string; arch?: string }; res: ModelSummary }
  'models.list': { req: { projectId: number }; res: ModelSummary[] }
  /** Domain-shift meter: source BN statistics vs a dataset's, per layer, before any training. */
  'models.shift': { req: { modelId: number; datasetId: number; split?: string; limit?: number }; res: DomainShiftReport }

  /** Creates an experiment and queues its runs (methods x seeds, or a sweep). */
  'experiments.create': { req: { projectId: number; spec: ExperimentSpec }; res: { experimentId: number; runIds: number[] } }
  /** Queues the built-in demo comparison (LP, FT, LP-FT, DAFT on the synthetic shapes). */
  'demo.run': { req: { epochs?: number }; res: { experimentId: number; runIds: number[] } }
  'experiments.list': { req: { projectId: number }; res: { id: number; name: string; createdAt: string; runs: number }[] }
  'experiments.compare': { req: { experimentId: number }; res: ComparisonTable }
  /** Tries DAFT's head learning rates on the model's frozen features of the spec's ID training images: which of the
   *  paper's eta_w values blow up, and the extended grid (applied when spec.sweep.daftHeadLrMode is 'extended'). */
  'experiments.probeHeadLr': { req: { spec: ExperimentSpec }; res: { result: HeadProbeResult; grid: HeadLrGrid } }
  /** A shareable report: ONE self-contained HTML file (table, Fig. 1-2 as inline SVG, galleries, recipes, versions). */
  'experiments.report': { req: { experimentId: number }; res: { html: string; fileName: string } }

  'runs.list': { req: { experimentId?: number }; res: RunSummary[] }
  /** One run with its epochs and the per-batch losses after `afterStep` (for incremental live curves). */
  'runs.get': { req: { runId: number; afterStep?: number }; res: { run: RunSummary; epochs: EpochMetrics[]; losses: { step: number; epoch: number; loss: number }[] } }
  'runs.cancel': { req: { runId: number }; res: { cancelled: boolean } }
  'runs.resume': { req: { runId: number }; res: { resumed: boolean } }
  /** Writes a finished run's model: safetensors (PyTorch key names) or a TF.js layers model folder. */
  'runs.export': { req: { runId: number; format: 'safetensors' | 'tfjs'; which?: 'final' | 'initial'; out: string; overwrite?: boolean }; res: { out: string; format: string; arch: string } }

  /** Feature-distortion analysis of a finished run (computed when the run ends); null if not computed yet. */
  'analysis.get': { req: { runId: number }; res: RunAnalysis | null }
  /** Recomputes the analysis of a finished run (engine work: one feature pass per eval set, before and after). */
  'analysis.recompute': { req: { runId: number }; res: RunAnalysis }
  /** Per class, the k images whose features changed most (lowest cosine) and least (highest). */
  'analysis.gallery': { req: { runId: number; set: string; k?: number }; res: Gallery }
  /** Corruption robustness (15 corruptions x 5 severities of the ID test set); computed on first request. */
  'analysis.robustness': { req: { runId: number; recompute?: boolean; limit?: number }; res: RobustnessReport }
}

export type OpName = keyof ApiOperations
export type Req<K extends OpName> = ApiOperations[K]['req']
export type Res<K extends OpName> = ApiOperations[K]['res']

/** Runtime list of operation names: the only channels the transports accept. */
export const API_OPERATIONS = [
  'app.status',
  'app.doctor',
  'projects.list',
  'fs.listDir',
  'fs.pickFolder',
  'datasets.import',
  'datasets.list',
  'datasets.get',
  'datasets.preview',
  'images.get',
  'models.import',
  'models.list',
  'models.shift',
  'experiments.create',
  'demo.run',
  'experiments.list',
  'experiments.compare',
  'experiments.probeHeadLr',
  'experiments.report',
  'runs.list',
  'runs.get',
  'runs.cancel',
  'runs.resume',
  'runs.export',
  'analysis.get',
  'analysis.recompute',
  'analysis.gallery',
  'analysis.robustness',
] as const satisfies readonly OpName[]

// compile-time check that API_OPERATIONS lists every operation
type Missing = Exclude<OpName, (typeof API_OPERATIONS)[number]>
const _allListed: Missing extends never ? true : never = true
void _allListed

export function isOpName(s: unknown): s is OpName {
  return typeof s === 'string' && (API_OPERATIONS as readonly string[]).includes(s)
}

/** Events pushed to every connected client. */
export type ApiEvent =
  | { type: 'engine.state'; state: EngineState; backend?: BackendInfo; error?: string }
  | { type: 'run.batch'; runId: number; epoch: number; step: number; batch: number; batches: number; loss: number; imagesPerSec: number }
  | { type: 'run.epoch'; runId: number; metrics: EpochMetrics }
  | { type: 'run.stage'; runId: number; stage: string }
  | { type: 'run.state'; runId: number; status: RunStatus; error?: string }
  | { type: 'analysis.state'; runId: number; state: 'running' | 'done' | 'failed'; error?: string }

export type EngineState = 'starting' | 'ready' | 'error' | 'stopped'

/** Errors cross transports as { error: { code, message } }. */
export interface ApiErrorBody {
  error: { code: string; message: string }
}

export class ApiError extends Error {
  constructor(public readonly code: string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}
