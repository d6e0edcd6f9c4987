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
  QueueSettings,
  QueueWorkerInfo,
} from './types'
import type { EpochMetrics, RunStatus, RunSummary } from './experiments'
import type { HeadLrGrid, HeadProbeResult } from './headProbe'
import type { DoctorReport } from './doctor'
import type { FieldIssue } from './schemas/issues'
import type { RequestIn, RequestOp, RequestOut } from './schemas/requests'
import type { DatasetRegistration, ExperimentCatalog, ModelRegistration } from './catalog'

/** An operation's request: its schema's input (src/shared/schemas/requests.ts), so the type and the check cannot drift. */
type In<K extends RequestOp> = RequestIn<K>

export interface ApiOperations {
  /** Version, data directory, engine state and backend, the running job. */
  'app.status': { req: In<'app.status'>; res: AppStatus }
  /** Set-up checklist (daft doctor): which tensor backend loads and, for each piece that does not, why and the fix. */
  'app.doctor': { req: In<'app.doctor'>; res: DoctorReport }
  /** Projects in the store (the built-in demo project is always there). */
  'projects.list': { req: In<'projects.list'>; res: ProjectSummary[] }
  /** The project named `name` (created when missing), or without a name the built-in project the app opens on. */
  'projects.ensure': { req: In<'projects.ensure'>; res: { id: number; name: string } }
  /** Server-side folder browser (the browser has no native folder picker). */
  'fs.listDir': { req: In<'fs.listDir'>; res: DirListing }
  /** Native folder picker (Electron only); in the browser returns null and the UI shows the folder browser. */
  'fs.pickFolder': { req: In<'fs.pickFolder'>; res: string | null }

  /** Imports a folder (ImageFolder, or train/val/test sub-folders) into a project; the report lists every skipped file. */
  'datasets.import': { req: In<'datasets.import'>; res: DatasetDetail }
  /** Registers a folder deduplicated by content: the project's entry with the same fingerprint is reused (daft datasets import). */
  'datasets.register': { req: In<'datasets.register'>; res: DatasetRegistration }
  'datasets.list': { req: In<'datasets.list'>; res: DatasetSummary[] }
  'datasets.get': { req: In<'datasets.get'>; res: DatasetDetail }
  /** A few images per class of one split, for the preview grid. */
  'datasets.preview': { req: In<'datasets.preview'>; res: ImageRef[] }
  /** A thumbnail of an image under a registered dataset root, as a data: URL (no file:// URLs). */
  'images.get': { req: In<'images.get'>; res: { dataUrl: string; width: number; height: number } }

  /** Registers a checkpoint (.pth/.pt/.th/.tar/.safetensors/model.json): architecture, BN layers, key report. */
  'models.import': { req: In<'models.import'>; res: ModelSummary }
  /** Registers a checkpoint deduplicated by content (sha256): the project's entry with the same bytes is reused (daft models import). */
  'models.register': { req: In<'models.register'>; res: ModelRegistration }
  'models.list': { req: In<'models.list'>; res: ModelSummary[] }
  /** Domain-shift meter: source BN statistics vs a dataset's, per layer, before any training. */
  'models.shift': { req: In<'models.shift'>; res: DomainShiftReport }

  /** Creates an experiment and queues its runs (methods x seeds, or a sweep). */
  'experiments.create': { req: In<'experiments.create'>; res: { experimentId: number; runIds: number[] } }
  /** Queues the built-in demo comparison (LP, FT, LP-FT, DAFT on the synthetic shapes). */
  'demo.run': { req: In<'demo.run'>; res: { experimentId: number; runIds: number[] } }
  'experiments.list': { req: In<'experiments.list'>; res: { id: number; name: string; createdAt: string; runs: number }[] }
  /** An experiment by id (digits) or name (the newest of that name); null when there is none. */
  'experiments.find': { req: In<'experiments.find'>; res: { id: number; name: string } | null }
  /** Registers what a spec names (ID and OOD datasets, the model) in a project, deduplicated; failures are reported per entry, not thrown. */
  'experiments.registerCatalog': { req: In<'experiments.registerCatalog'>; res: ExperimentCatalog }
  'experiments.compare': { req: In<'experiments.compare'>; res: ComparisonTable }
  /** Tries DAFT's head learning rates on the model's frozen features of the spec's ID training images: which of the
   *  paper's eta_w values blow up (or of `lrs`, the rates given), and the extended grid (applied when
   *  spec.sweep.daftHeadLrMode is 'extended'). */
  'experiments.probeHeadLr': { req: In<'experiments.probeHeadLr'>; res: { result: HeadProbeResult; grid: HeadLrGrid } }
  /** A shareable report: ONE self-contained HTML file (table, Fig. 1-2 as inline SVG, galleries, recipes, versions). */
  'experiments.report': { req: In<'experiments.report'>; res: { html: string; fileName: string } }

  'runs.list': { req: In<'runs.list'>; res: RunSummary[] }
  /** One run with its epochs and the per-batch losses after `afterStep` (for incremental live curves). */
  'runs.get': { req: In<'runs.get'>; res: { run: RunSummary; epochs: EpochMetrics[]; losses: { step: number; epoch: number; loss: number }[] } }
  'runs.cancel': { req: In<'runs.cancel'>; res: { cancelled: boolean } }
  'runs.resume': { req: In<'runs.resume'>; res: { resumed: boolean } }
  /** The `daft worker`s of the run queue on Redis (host, backend, device, version, current runs, last seen); [] without a queue. */
  'workers.list': { req: In<'workers.list'>; res: QueueWorkerInfo[] }
  /** The run queue: what this app uses now, and the saved settings (applied when the app starts next). */
  'queue.settings': { req: In<'queue.settings'>; res: QueueSettings }
  /** Saves the queue settings (Redis URL, shared folder); they apply when the app starts next. */
  'queue.saveSettings': { req: In<'queue.saveSettings'>; res: QueueSettings }
  /** Writes a finished run's model: safetensors (PyTorch key names) or a TF.js layers model folder. */
  'runs.export': { req: In<'runs.export'>; res: { out: string; format: string; arch: string } }

  /** Feature-distortion analysis of a finished run (computed when the run ends); null if not computed yet. */
  'analysis.get': { req: In<'analysis.get'>; res: RunAnalysis | null }
  /** Recomputes the analysis of a finished run (engine work: one feature pass per eval set, before and after). */
  'analysis.recompute': { req: In<'analysis.recompute'>; res: RunAnalysis }
  /** Per class, the k images whose features changed most (lowest cosine) and least (highest). */
  'analysis.gallery': { req: In<'analysis.gallery'>; res: Gallery }
  /** Corruption robustness (15 corruptions x 5 severities of the ID test set); computed on first request. */
  'analysis.robustness': { req: In<'analysis.robustness'>; res: RobustnessReport }
}

export type OpName = keyof ApiOperations
export type Req<K extends OpName> = ApiOperations[K]['req']
/** The request an operation receives: parsed by its schema at the service boundary (defaults applied, unknown keys dropped). */
export type ParsedReq<K extends OpName> = K extends RequestOp ? RequestOut<K> : never
export type Res<K extends OpName> = ApiOperations[K]['res']

/** Runtime list of operation names: the only channels the transports accept. */
export const API_OPERATIONS = [
  'app.status',
  'app.doctor',
  'projects.list',
  'projects.ensure',
  'fs.listDir',
  'fs.pickFolder',
  'datasets.import',
  'datasets.register',
  'datasets.list',
  'datasets.get',
  'datasets.preview',
  'images.get',
  'models.import',
  'models.register',
  'models.list',
  'models.shift',
  'experiments.create',
  'demo.run',
  'experiments.list',
  'experiments.find',
  'experiments.registerCatalog',
  'experiments.compare',
  'experiments.probeHeadLr',
  'experiments.report',
  'runs.list',
  'runs.get',
  'runs.cancel',
  'runs.resume',
  'workers.list',
  'queue.settings',
  'queue.saveSettings',
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
// ... and that every operation has a request schema (a new operation gets one in src/shared/schemas/requests.ts)
type NoSchema = Exclude<OpName, RequestOp>
const _allChecked: NoSchema extends never ? true : never = true
void _allChecked

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
  /** progress of a long engine task other than a run's training (robustness: corruptions evaluated) */
  | { type: 'task.progress'; task: string; done: number; total: number }

export type EngineState = 'starting' | 'ready' | 'error' | 'stopped'

/** Errors cross transports as { error: { code, message } }; a request its schema refused ('bad_request') also lists
 *  the problems by field (`issues`: path as in the request, e.g. spec.methods[0].lr.head), for forms to show. */
export interface ApiErrorBody {
  error: { code: string; message: string; issues?: FieldIssue[] }
}

export class ApiError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly issues?: FieldIssue[],
  ) {
    super(message)
    this.name = 'ApiError'
  }
}
