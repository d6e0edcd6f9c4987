/**
 * The typed message channel between main and the engine process.
 * main -> engine: EngineRequest; engine -> main: EngineResponse or EngineEventMessage.
 * No tfjs here: main imports this file.
 */
import type { BackendInfo, BackendName, DomainShiftReport, ModelSummary, RobustnessReport, RunAnalysis } from '../../shared/types'
import type { EpochMetrics, ExperimentSpec, RunSpec } from '../../shared/experiments'
import type { RunHealth } from '../../shared/health'
import type { HeadProbeResult } from '../../shared/headProbe'
import type { NormalizePreset } from '../../shared/datasets'


// ---------------------------------------------------------------- what crosses the process boundary
// Every type and file name main and the engine both rely on lives here; the engine's tasks import them from
// this file, never the other way round (layer rule: .dependency-cruiser.cjs, no cycles).

/** Files in a run's folder: the weights when fine-tuning began (DAFT: the converted model), the final
 *  (best-epoch) weights. Checkpoints: tasks/checkpoint.ts. */
export const INITIAL_WEIGHTS = 'initial.safetensors'
export const FINAL_WEIGHTS = 'final.safetensors'

/** A checkpoint's summary as the engine reports it (store/catalog.ts keeps it per registered model). */
export type ModelInfo = Omit<ModelSummary, 'id' | 'projectId' | 'name' | 'createdAt'>

export interface AnalyzedImages {
  set: string
  path: string[]
  label: Int32Array
  cosine: Float32Array
  l2: Float32Array
  predBefore: Int32Array
  predAfter: Int32Array
}

export interface AnalyzeResult {
  analysis: Omit<RunAnalysis, 'computedAt' | 'classes'>
  images: AnalyzedImages[]
  classes: string[]
}

export interface ExportRequest {
  spec: RunSpec
  runDir: string
  format: 'safetensors' | 'tfjs'
  /** 'final' = the fine-tuned (best-epoch) weights; 'initial' = where fine-tuning started (e.g. the BN-converted model) */
  which: 'final' | 'initial'
  /** a .safetensors file, or a folder for tfjs */
  out: string
  /** replace an existing export at `out` (otherwise an existing path is refused) */
  overwrite?: boolean
}

export interface ShiftRequest {
  modelPath: string
  arch?: string
  dataRoot: string
  split?: string
  limit?: number
  size?: number
  normalize?: NormalizePreset
  batchSize?: number
}

export interface HeadProbeRequest {
  spec: ExperimentSpec
  cacheDir: string | null
  /** training images used (default 1,000) */
  limit?: number
  /** rates tried (default PROBE_HEAD_LRS) */
  lrs?: number[]
}

/** What a finished (or cancelled) run reports back. */
export interface RunOutcome {
  /** 'diverged': the loss became non-finite; the store records the run as failed with `error` */
  status: 'succeeded' | 'cancelled' | 'diverged'
  /** health checks of the run (shared/health.ts); null for a cancelled run */
  health: RunHealth | null
  /** why a diverged run stopped */
  error?: string
  bestEpoch: number | null
  /** accuracies at the best epoch, by set name */
  final: Record<string, number>
  /** backend the run trained on */
  backend: string
}

export interface EngineOps {
  /** load and select the tensor backend; idempotent */
  init: { req: { backend?: BackendName }; res: BackendInfo }
  /** liveness and tensor count (for leak checks) */
  ping: { req: Record<string, never>; res: { pid: number; numTensors: number; backend: string } }
  /** trains one run; streams run.* events; resolves when it ends. `resume`: continue from runDir's checkpoint */
  'run.start': { req: { runId: number; spec: RunSpec; runDir: string; cacheDir: string; resume: boolean }; res: RunOutcome }
  /** asks a running run to stop between batches */
  'run.cancel': { req: { runId: number }; res: { cancelled: boolean } }
  /** loads a checkpoint leniently: architecture, parameter count, BN layers, key report */
  'model.inspect': { req: { path: string; arch?: string }; res: ModelInfo }
  /** domain-shift meter: source vs target BN statistics of a data set, per layer */
  'model.shift': { req: ShiftRequest; res: DomainShiftReport }
  /** feature-distortion analysis of a finished run (needs its final weights in runDir) */
  'run.analyze': { req: { runId: number; spec: RunSpec; runDir: string; cacheDir: string }; res: AnalyzeResult }
  /** writes a run's model as safetensors (PyTorch keys) or a TF.js layers model */
  'run.export': { req: ExportRequest; res: { out: string; format: string; arch: string } }
  /** DAFT's head learning rates tried on the model's frozen features (shared/headProbe.ts) */
  'sweep.headProbe': { req: HeadProbeRequest; res: HeadProbeResult }
  /** corruption robustness (Table 4) of a finished run */
  'run.robustness': { req: { runId: number; spec: RunSpec; runDir: string; limit?: number }; res: RobustnessReport }
}

export type EngineOpName = keyof EngineOps

export interface EngineRequest<K extends EngineOpName = EngineOpName> {
  kind: 'request'
  id: number
  op: K
  payload: EngineOps[K]['req']
}

export type EngineResponse =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: { message: string; stack?: string } }

/** progress and log events the engine streams while it works */
export type EngineEvent =
  | { type: 'progress'; task: string; done: number; total: number; detail?: Record<string, number> }
  | { type: 'run.stage'; runId: number; stage: string }
  | { type: 'run.batch'; runId: number; epoch: number; step: number; batch: number; batches: number; loss: number; lr: { backbone: number; head: number }; imagesPerSec: number }
  | { type: 'run.epoch'; runId: number; metrics: EpochMetrics; imagesPerSec?: number; checkpoint?: { epoch: number; path: string; sha256: string; bytes: number } }

export interface EngineEventMessage {
  kind: 'event'
  event: EngineEvent
}

export type EngineMessage = EngineResponse | EngineEventMessage

/** What a spawner hands the host: one live engine process, whatever started it. */
export interface EngineChannel {
  pid: number | undefined
  send(msg: EngineRequest): void
  onMessage(cb: (msg: EngineMessage) => void): void
  onExit(cb: (code: number | null) => void): void
  kill(): void
}

export type EngineSpawner = () => EngineChannel
