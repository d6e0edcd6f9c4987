/**
 * What the services need of the engine process and of the job runner, as interfaces the services own.
 * jobs/engineHost.ts (EngineHost) and jobs/runner.ts (JobRunner) implement them; app.ts hands them to the
 * services. So the dependency points jobs -> services, never the reverse (.dependency-cruiser.cjs:
 * services-not-jobs).
 */
import type { AppStatus, QueueWorkerInfo } from '../../shared/types'
import type { EngineEvent, EngineOpName, EngineOps } from '../engine/protocol'

/** The engine process as the services use it: its state (app.status) and typed requests. */
export interface EnginePort {
  readonly state: AppStatus['engine']['state']
  readonly backend?: AppStatus['engine']['backend']
  readonly error?: string
  readonly pid?: number
  /** one engine operation; an engine started lazily (the CLI) starts on the first request */
  request<K extends EngineOpName>(op: K, payload: EngineOps[K]['req']): Promise<EngineOps[K]['res']>
}

/** The engine's state changes and streamed events (forwarded to the API's event hub). */
export interface EngineEventSource {
  readonly backend?: AppStatus['engine']['backend']
  readonly error?: string
  on(event: 'state', cb: (state: AppStatus['engine']['state']) => void): unknown
  on(event: 'event', cb: (ev: EngineEvent) => void): unknown
}

/** The job runner as the services use it: the queue's state and its controls. */
export interface RunnerPort {
  /** the run this process is running, if any */
  readonly running: { runId: number; name: string } | null
  /** where a run's checkpoint, weights and exports live, as this process reaches them */
  runDir(runId: number): string
  /** starts working through the queue (no-op when already working) */
  kick(): void
  /** starts working through the queue if it is not, and resolves when it is empty and nothing runs */
  idle(): Promise<void>
  cancel(runId: number): Promise<boolean>
  /** an interrupted run back into the queue (continues from its last checkpoint); false when it is not interrupted */
  resume(runId: number): boolean
  /** stops what the runner holds open (a queue connection), if anything */
  close?(): Promise<void>
  /** a queue runner's workers (jobs/queue/): what each announced, and whether it is connected now */
  workers?(): Promise<QueueWorkerInfo[]>
}
