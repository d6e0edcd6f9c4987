/**
 * The typed message channel between main and the engine process.
 * main -> engine: EngineRequest; engine -> main: EngineResponse or EngineEventMessage.
 * No tfjs here: main imports this file.
 */
import type { BackendInfo, BackendName } from '../../shared/types'

export interface EngineOps {
  /** load and select the tensor backend; idempotent */
  init: { req: { backend?: BackendName }; res: BackendInfo }
  /** liveness and tensor count (for leak checks) */
  ping: { req: Record<string, never>; res: { pid: number; numTensors: number; backend: string } }
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
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'progress'; task: string; done: number; total: number; detail?: Record<string, number> }

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
