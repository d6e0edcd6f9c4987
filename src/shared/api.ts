/**
 * The one API contract between the renderer and the main-process services.
 *
 * Every operation is named here with its request and response types; both transports (Electron IPC and
 * HTTP) are generated from `API_OPERATIONS`, so an operation that is not listed here cannot be called.
 * Live progress flows the other way as `ApiEvent`s (IPC events / server-sent events).
 */
import type { AppStatus, BackendInfo, DirListing, ProjectSummary } from './types'

export interface ApiOperations {
  /** Version, data directory, engine state and backend, the running job. */
  'app.status': { req: Record<string, never>; res: AppStatus }
  /** Projects in the store (the built-in demo project is always there). */
  'projects.list': { req: Record<string, never>; res: ProjectSummary[] }
  /** Server-side folder browser (the browser has no native folder picker). */
  'fs.listDir': { req: { path?: string }; res: DirListing }
  /** Native folder picker (Electron only); in the browser returns null and the UI shows the folder browser. */
  'fs.pickFolder': { req: { title?: string }; res: string | null }
}

export type OpName = keyof ApiOperations
export type Req<K extends OpName> = ApiOperations[K]['req']
export type Res<K extends OpName> = ApiOperations[K]['res']

/** Runtime list of operation names: the only channels the transports accept. */
export const API_OPERATIONS = ['app.status', 'projects.list', 'fs.listDir', 'fs.pickFolder'] as const satisfies readonly OpName[]

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
  | { type: 'job.progress'; runId: number; epoch: number; batch: number; batches: number; loss: number; imagesPerSec: number }
  | { type: 'job.state'; runId: number; status: string; error?: string }

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
