/**
 * What crosses Redis between the app that owns an experiment (remoteRunner.ts) and the workers that train its runs
 * (worker.ts): one BullMQ job per run. No BullMQ import here, only the shapes and the path rules.
 *
 * - job data (RunJobData): the run as planned, with its model's and datasets' fingerprints and its folder on the
 *   shared storage, in the app's paths (a worker maps them with --path-map REMOTE=LOCAL);
 * - job logs (RunLogRecord, JSON, one per `job.log`): what the app must write to its store (run started, every epoch
 *   with its checkpoint, batch losses in chunks). BullMQ keeps them with the job, so an app that was closed replays
 *   them when it reconnects; applying a record twice writes the same rows;
 * - job progress (RunProgress, `job.updateProgress`): live batch events for the UI, and a nudge to read the logs;
 * - the job's return value (RunJobResult): the run's outcome.
 * File paths in records are relative to the run folder, so they mean the same on every machine.
 */
import type { EpochMetrics, RunSpec } from '../../../shared/experiments'
import type { RunOutcome } from '../../engine/protocol'
import type { QueueWorkerInfo } from '../../../shared/types'

export const JOB_DATA_VERSION = 1
export const DEFAULT_QUEUE = 'daft-runs'
/** BullMQ key prefix: every key of the queue is under `daft:<queue>:` */
export const QUEUE_PREFIX = 'daft'
/** the custom event (QueueEventsProducer) that asks the worker training a job to stop it */
export const CANCEL_EVENT = 'daft-cancel'

export interface RunJobData {
  v: number
  /** the store (app) that owns the run: jobs of two stores on one Redis never mix */
  storeId: string
  runId: number
  spec: RunSpec
  /** the run's folder on the shared storage, as the app sees it */
  runDir: string
  /** content fingerprints as planned (services/catalog.ts, services/models.ts), by path as in `spec` */
  fingerprints: { model: string; datasets: Record<string, string> }
  /** sha256 of the checkpoints the store knows for the run (a resumed run) */
  known: string[]
  /** set by the app to cancel the run (a worker that picks the job up later sees it too) */
  cancel?: boolean
}

export interface FileRef {
  /** relative to the run folder */
  rel: string
  sha256: string
  bytes: number
}

export type RunLogRecord =
  /** a worker started (attempt > 1: after a stalled or failed attempt); epochsDone: finished epochs it resumes from (null: from the start) */
  | { t: 'start'; attempt: number; worker: string; host: string; backend: string; device: string; epochsDone: number | null; kept: FileRef[]; note?: string }
  | { t: 'epoch'; metrics: EpochMetrics; imagesPerSec?: number; checkpoint?: FileRef & { epoch: number } }
  /** [step, epoch, loss] */
  | { t: 'losses'; rows: [number, number, number][] }
  | { t: 'stage'; stage: string }

export type RunProgress =
  | { t: 'batch'; epoch: number; step: number; batch: number; batches: number; loss: number; imagesPerSec: number }
  | { t: 'log'; n: number }

export interface RunJobResult extends RunOutcome {
  worker: string
  /** the final (best-epoch) weights, when the run succeeded */
  finalFile?: FileRef
}

/** What a worker announces (metadata in a Redis hash; whether it is alive is BullMQ's getWorkers()). */
export type WorkerInfo = Omit<QueueWorkerInfo, 'online'>

/** The job of a run: deterministic, so queuing a run twice is one job (BullMQ ignores a duplicate id). */
export function jobIdOf(storeId: string, runId: number): string {
  return `${storeId}-${runId}`
}

/** Which run a job id names, if it is one of `storeId`'s. */
export function runIdOfJob(storeId: string, jobId: string): number | undefined {
  if (!jobId.startsWith(`${storeId}-`)) return undefined
  const n = Number(jobId.slice(storeId.length + 1))
  return Number.isInteger(n) && n > 0 ? n : undefined
}

/** The hash where workers announce themselves (metadata; liveness is BullMQ's getWorkers()). */
export function workersKey(queueName: string): string {
  return `${QUEUE_PREFIX}:${queueName}:daft-workers`
}

/** A run's folder on the shared storage: one per store and run. */
export function sharedRunDir(sharedDir: string, storeId: string, runId: number): string {
  return `${sharedDir.replace(/[\\/]+$/, '')}/runs/${storeId}-${runId}`
}

export interface PathMapping {
  from: string
  to: string
}

/** `REMOTE=LOCAL` (the app's path prefix = this machine's). */
export function parsePathMap(s: string): PathMapping {
  const i = s.indexOf('=')
  if (i <= 0 || i === s.length - 1) throw new Error(`--path-map: expected REMOTE=LOCAL (got ${s})`)
  return { from: s.slice(0, i).replace(/[\\/]+$/, ''), to: s.slice(i + 1).replace(/[\\/]+$/, '') }
}

/** A path of the app's, as this machine reaches it: the longest matching prefix is replaced (whole path segments only). */
export function mapPath(p: string, map: readonly PathMapping[]): string {
  let best: PathMapping | undefined
  for (const m of map) {
    if ((p === m.from || p.startsWith(m.from + '/') || p.startsWith(m.from + '\\')) && (!best || m.from.length > best.from.length)) best = m
  }
  return best ? best.to + p.slice(best.from.length) : p
}

/** The run spec with every path (model, ID and OOD roots) mapped. */
export function mapSpec(spec: RunSpec, map: readonly PathMapping[]): RunSpec {
  if (!map.length) return spec
  const ood = Object.fromEntries(Object.entries(spec.data.ood).map(([k, v]) => [k, { ...v, root: mapPath(v.root, map) }]))
  return { ...spec, model: { ...spec.model, path: mapPath(spec.model.path, map) }, data: { ...spec.data, id: { ...spec.data.id, root: mapPath(spec.data.id.root, map) }, ood } }
}

/** The dataset roots a run reads (ID first, then OOD), as in its spec. */
export function specRoots(spec: RunSpec): string[] {
  return [...new Set([spec.data.id.root, ...Object.values(spec.data.ood).map((o) => o.root)])]
}

/** The connection options BullMQ (ioredis) takes for a redis:// or rediss:// URL. */
export function redisConnection(url: string): { host: string; port: number; username?: string; password?: string; db?: number; tls?: object; maxRetriesPerRequest: null } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new Error(`Redis URL: expected redis://HOST:PORT (got ${url})`)
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`Redis URL: expected redis://HOST:PORT or rediss:// (got ${url})`)
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ workers block on Redis: ioredis must not give up on a command
    maxRetriesPerRequest: null,
  }
}

/** Timings of BullMQ's locks and stalled-job checks; tests shorten them (DAFT_QUEUE_LOCK_MS). */
export function queueTimings(): { lockDuration: number; stalledInterval: number; maxStalledCount: number } {
  const lock = Number(process.env.DAFT_QUEUE_LOCK_MS)
  const lockDuration = Number.isFinite(lock) && lock >= 1000 ? lock : 30_000
  return { lockDuration, stalledInterval: Math.max(500, Math.round(lockDuration / 2)), maxStalledCount: 3 }
}
