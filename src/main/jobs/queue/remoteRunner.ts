/**
 * (Over 400 lines: the app's half of one protocol - queuing, replaying job logs into the store, outcomes, cancel,
 * workers - reads best in one place; the shapes it shares with the worker are in protocol.ts.)
 *
 * The app side of the run queue: queued runs become BullMQ jobs on Redis, trained by `daft worker` processes
 * (worker.ts) on any machine; this process stays the one writer of its store. Same surface as the local JobRunner
 * (kick / idle / cancel / resume / running / runDir), chosen in app.ts when a Redis URL is configured.
 *
 * - kick: every queued run of the store becomes a job (id <storeId>-<runId>: queuing twice is one job), with the model's
 *   and datasets' fingerprints as planned and its folder on the shared storage (<shared>/runs/<storeId>-<runId>);
 * - what workers report arrives as the job's logs (records, protocol.ts), read from a cursor and written with the
 *   same store functions the local runner uses (every write is idempotent: epochs and losses are keyed, a 'start'
 *   record resets what a resumed attempt redoes); QueueEvents ('progress', 'active', 'completed', 'failed', ...) say
 *   when to read, and a slow poll catches anything missed. An app that was closed replays the logs of its open runs
 *   when it starts (and reads the outcome from a finished job), so nothing the workers did is lost;
 * - a finished job's return value ends the run (then `afterRun`: analysis and DAFT's sweep step 2, whichever worker ran it);
 * - cancel: a waiting job is removed; an active one gets `cancel` in its data and a custom event (QueueEventsProducer)
 *   the worker turns into BullMQ's own job cancellation (worker.cancelJob, the processor's AbortSignal).
 */
import { join } from 'node:path'
import { Job, Queue, QueueEvents, QueueEventsProducer } from 'bullmq'
import type { Db } from '../../store/db'
import type { QueueWorkerInfo } from '../../../shared/types'
import type { EventHub } from '../../services/events'
import * as runs from '../../store/runs'
import * as remote from '../../store/remoteRuns'
import { checkpointWeightsPath } from '../../engine/tasks/checkpoint'
import { datasetFingerprint } from '../../services/catalog'
import { modelFingerprint } from '../../services/models'
import type { RunnerPort } from '../../services/ports'
import { runDirOf } from '../../dataDir'
import {
  CANCEL_EVENT,
  DEFAULT_QUEUE,
  JOB_DATA_VERSION,
  QUEUE_PREFIX,
  jobIdOf,
  redisConnection,
  runIdOfJob,
  sharedRunDir,
  specRoots,
  workersKey,
  type RunJobData,
  type RunJobResult,
  type RunLogRecord,
  type RunProgress,
  type WorkerInfo,
} from './protocol'

/** how long `workers()` waits for Redis before it says Redis does not answer */
export const WORKERS_TIMEOUT_MS = 3000

export interface RemoteRunnerOptions {
  /** redis://HOST:PORT */
  redis: string
  /** the folder every worker and this app reach (NFS/SMB): run folders go under <shared>/runs */
  sharedDir: string
  dataDir: string
  queueName?: string
  /** how often the store's open runs are checked against their jobs besides the events (default 3 s) */
  pollMs?: number
  /** attempts per job when an engine dies under a run (BullMQ retries with exponential backoff; default 3) */
  attempts?: number
  afterRun?: (runId: number) => void | Promise<void>
}

export type WorkerListing = QueueWorkerInfo

/** Completed and failed jobs stay in Redis this long: an app closed for less reads their results back. */
const KEEP_JOBS_S = 14 * 24 * 3600

export class RemoteRunner implements RunnerPort {
  readonly storeId: string
  readonly queueName: string
  /** the connections, made on first use (a `daft` command that only lists runs never connects) */
  private conn?: { queue: Queue<RunJobData, RunJobResult>; events: QueueEvents; producer: QueueEventsProducer }
  private readonly syncs = new Map<number, Promise<void>>()
  /** job id -> the job's creation time and how many of its logs were applied */
  private readonly cursors = new Map<string, { stamp: number; n: number }>()
  private readonly active = new Map<number, { runId: number; name: string }>()
  /** runs resumed by the user: their old (finished) job is replaced */
  private readonly fresh = new Set<number>()
  private pumping: Promise<void> | null = null
  private again = false
  private after: Promise<void> = Promise.resolve()
  private afterPending = 0
  private idleWaiters: (() => void)[] = []
  private timer?: ReturnType<typeof setInterval>
  private closed = false
  /** a Redis problem is reported once, until it clears */
  private lastError?: string

  constructor(
    private readonly db: Db,
    private readonly hub: EventHub,
    private readonly opts: RemoteRunnerOptions,
  ) {
    this.storeId = remote.storeId(db)
    this.queueName = opts.queueName ?? DEFAULT_QUEUE
    redisConnection(opts.redis) // a bad URL is an error at start-up
  }

  private connect(): NonNullable<RemoteRunner['conn']> {
    if (this.conn) return this.conn
    const connection = redisConnection(this.opts.redis)
    const queue = new Queue<RunJobData, RunJobResult>(this.queueName, { connection, prefix: QUEUE_PREFIX })
    const events = new QueueEvents(this.queueName, { connection, prefix: QUEUE_PREFIX })
    const producer = new QueueEventsProducer(this.queueName, { connection, prefix: QUEUE_PREFIX })
    this.conn = { queue, events, producer }
    for (const q of [queue, events, producer] as { on(ev: 'error', cb: (e: Error) => void): unknown }[]) q.on('error', (e) => this.report(e))
    events.on('progress', ({ jobId, data }) => this.onProgress(jobId, data as RunProgress))
    for (const ev of ['active', 'completed', 'failed', 'stalled', 'retries-exhausted', 'removed'] as const) {
      events.on(ev as 'active', ({ jobId }: { jobId: string }) => {
        const runId = runIdOfJob(this.storeId, jobId)
        if (runId !== undefined) void this.sync(runId).then(() => this.checkIdle())
      })
    }
    // the events say when to read; this catches what they missed (a reconnect, another process's cancel)
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 3000)
    this.timer.unref?.()
    return this.conn
  }

  private get queue(): Queue<RunJobData, RunJobResult> {
    return this.connect().queue
  }

  private get producer(): QueueEventsProducer {
    return this.connect().producer
  }

  get running(): { runId: number; name: string } | null {
    return this.active.values().next().value ?? null
  }

  runDir(runId: number): string {
    return remote.recordedRunDir(this.db, runId) ?? runDirOf(this.opts.dataDir, runId)
  }

  /** Reads back what workers did (replay), then queues the store's queued runs. */
  kick(): void {
    if (this.closed) return
    this.connect()
    if (this.pumping) {
      this.again = true
      return
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false
          await this.syncAll()
          await this.enqueueAll()
        } while (this.again && !this.closed)
        this.lastError = undefined
      } catch (e) {
        this.report(e as Error)
      } finally {
        this.pumping = null
        this.checkIdle()
      }
    })()
  }

  /** Works through the queue (kick) and resolves when no run of the store is queued or running. */
  idle(): Promise<void> {
    this.kick()
    return new Promise((r) => {
      this.idleWaiters.push(r)
      this.checkIdle()
    })
  }

  async cancel(runId: number): Promise<boolean> {
    const row = remote.remoteRun(this.db, runId)
    if (runs.cancelQueued(this.db, runId)) {
      this.hub.publish({ type: 'run.state', runId, status: 'cancelled' })
      if (row?.remoteJob) await this.dropJob(row.remoteJob)
      this.checkIdle()
      return true
    }
    if (row?.remoteJob && row.status === 'running') {
      await this.askCancel(row.remoteJob)
      return true
    }
    return runs.requestCancel(this.db, runId)
  }

  resume(runId: number): boolean {
    const ok = runs.requeueRun(this.db, runId)
    if (ok) {
      this.fresh.add(runId)
      this.kick()
    }
    return ok
  }

  /**
   * The workers that announced themselves on this queue, with whether BullMQ sees them connected now. Fails within
   * `WORKERS_TIMEOUT_MS` when Redis does not answer (its commands otherwise wait for a reconnect forever, and the
   * Workers panel would go on showing the last list as if it were live).
   */
  async workers(): Promise<WorkerListing[]> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the run queue's Redis (${this.opts.redis}) does not answer: workers unknown`)), WORKERS_TIMEOUT_MS)
    })
    try {
      return await Promise.race([this.listWorkers(), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  private async listWorkers(): Promise<WorkerListing[]> {
    const client = await this.queue.client
    const [all, online] = await Promise.all([client.hgetall(workersKey(this.queueName)), this.queue.getWorkers()])
    // BullMQ names a worker's connection <queue client name>:w:<worker name> (`rawname`)
    const names = new Set(online.map((w) => /:w:(.+)$/.exec(w.rawname ?? '')?.[1]).filter(Boolean))
    const out: WorkerListing[] = []
    for (const [name, json] of Object.entries(all)) {
      try {
        const info = JSON.parse(json) as WorkerInfo
        const isOnline = names.has(name)
        // an entry not seen for a day is a worker that went away without saying so
        if (!isOnline && Date.now() - Date.parse(info.lastSeen) > 86_400_000) {
          await client.hdel(workersKey(this.queueName), name)
          continue
        }
        out.push({ ...info, online: isOnline })
      } catch {
        // not ours
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Stops reading and queuing; what workers do meanwhile is read back on the next start. Bounded when Redis is unreachable. */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    const settle = (p: Promise<unknown> | null | undefined, ms: number): Promise<unknown> =>
      Promise.race([p?.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref?.())])
    await settle(this.pumping, 5000)
    await settle(Promise.all([...this.syncs.values()]), 5000)
    await this.after.catch(() => undefined)
    const parts = this.conn ? [this.conn.events, this.conn.producer, this.conn.queue] : []
    await settle(Promise.all(parts.map((p) => p.close().catch(() => undefined))), 5000)
    // Redis gone: drop the connections rather than wait for it
    for (const p of parts) void p.disconnect().catch(() => undefined)
    for (const w of this.idleWaiters.splice(0)) w()
  }

  // ------------------------------------------------------------------ internals

  private report(e: Error): void {
    if (this.closed || e.message === this.lastError) return
    this.lastError = e.message
    console.error(`run queue (${this.opts.redis}): ${e.message}`)
  }

  private checkIdle(): void {
    if (!this.idleWaiters.length) return
    if (this.pumping || this.afterPending > 0) return
    const open = this.db.prepare("SELECT COUNT(*) AS n FROM runs WHERE status IN ('queued', 'running')").get() as { n: number }
    if (open.n > 0 && !this.closed) return
    for (const w of this.idleWaiters.splice(0)) w()
  }

  private onProgress(jobId: string, data: RunProgress): void {
    const runId = runIdOfJob(this.storeId, jobId)
    if (runId === undefined || !data || typeof data !== 'object') return
    if (data.t === 'batch') {
      this.hub.publish({ type: 'run.batch', runId, epoch: data.epoch, step: data.step, batch: data.batch, batches: data.batches, loss: data.loss, imagesPerSec: data.imagesPerSec })
    } else void this.sync(runId).then(() => this.checkIdle())
  }

  private async syncAll(): Promise<void> {
    for (const row of remote.openRemoteRuns(this.db)) {
      // a cancel asked for by another process on this store (the CLI) arrives through the store
      if (row.status === 'running' && runs.cancelRequested(this.db, row.id)) await this.askCancel(row.remoteJob).catch((e: Error) => this.report(e))
      await this.sync(row.id)
    }
  }

  /** One run's job read back into the store; one at a time per run. */
  private sync(runId: number): Promise<void> {
    const prev = this.syncs.get(runId) ?? Promise.resolve()
    const next = prev.then(() => this.syncOnce(runId)).catch((e: Error) => this.report(e))
    this.syncs.set(runId, next)
    void next.finally(() => {
      if (this.syncs.get(runId) === next) this.syncs.delete(runId)
    })
    return next
  }

  private async syncOnce(runId: number): Promise<void> {
    if (this.closed) return
    const row = remote.remoteRun(this.db, runId)
    if (!row?.remoteJob || !['queued', 'running', 'interrupted'].includes(row.status)) return
    const jobId = row.remoteJob
    // the state first, then the logs: a job seen completed has logged everything
    const state = await this.queue.getJobState(jobId)
    if (state === 'unknown') {
      if (row.status === 'running') this.end(runId, 'interrupted', { error: 'its job is no longer on the queue (Redis was emptied?); resume queues it again and continues from the last checkpoint' })
      return
    }
    if (row.status === 'interrupted' && state === 'failed') return
    const job = await Job.fromId<RunJobData, RunJobResult>(this.queue, jobId)
    if (!job) return
    let cur = this.cursors.get(jobId)
    if (!cur || cur.stamp !== job.timestamp) cur = { stamp: job.timestamp, n: 0 }
    this.cursors.set(jobId, cur)
    const { logs } = await this.queue.getJobLogs(jobId, cur.n, -1, true)
    const dir = row.runDir ?? this.runDir(runId)
    for (const line of logs) {
      let rec: RunLogRecord | undefined
      try {
        rec = JSON.parse(line) as RunLogRecord
      } catch {
        rec = undefined
      }
      if (rec) this.apply(runId, dir, rec)
      cur.n++
    }
    if (state === 'completed' && job.returnvalue) this.finish(runId, dir, job.returnvalue)
    else if (state === 'failed') this.failed(runId, job)
  }

  private apply(runId: number, dir: string, rec: RunLogRecord): void {
    const db = this.db
    if (rec.t === 'start') {
      remote.markRemoteRunning(db, runId, rec.worker, rec.backend)
      // what this attempt redoes is dropped; the checkpoint it resumes from is the one the store knows
      runs.resetCheckpoints(db, runId, rec.epochsDone, rec.kept.map((k) => ({ path: join(dir, k.rel), sha256: k.sha256, bytes: k.bytes })))
      runs.truncateRunAfter(db, runId, rec.epochsDone === null ? -2 : rec.epochsDone - 1)
      const spec = runs.getRunSpec(db, runId)
      this.active.set(runId, { runId, name: `#${runId} ${spec.recipe.method} (seed ${spec.seed}) on ${rec.worker}` })
      this.hub.publish({ type: 'run.state', runId, status: 'running' })
      const stage = `on worker ${rec.worker} (${rec.backend}, ${rec.device})${rec.attempt > 1 ? `, attempt ${rec.attempt}` : ''}${rec.epochsDone !== null ? `, resuming after epoch ${rec.epochsDone}` : ''}${rec.note ? `: ${rec.note}` : ''}`
      this.hub.publish({ type: 'run.stage', runId, stage })
    } else if (rec.t === 'epoch') {
      if (rec.imagesPerSec) runs.recordThroughput(db, runId, rec.imagesPerSec)
      runs.recordEpoch(db, runId, rec.metrics, rec.checkpoint?.epoch)
      if (rec.checkpoint) {
        const c = rec.checkpoint
        runs.recordCheckpoint(db, runId, { path: join(dir, c.rel), sha256: c.sha256, bytes: c.bytes }, checkpointWeightsPath(dir, 'previous'))
      }
      runs.heartbeat(db, [runId])
      this.hub.publish({ type: 'run.epoch', runId, metrics: rec.metrics })
    } else if (rec.t === 'losses') {
      runs.recordBatchLosses(
        db,
        runId,
        rec.rows.map(([step, epoch, loss]) => ({ step, epoch, loss })),
      )
    } else if (rec.t === 'stage') {
      this.hub.publish({ type: 'run.stage', runId, stage: rec.stage })
    }
  }

  private finish(runId: number, dir: string, r: RunJobResult): void {
    if (r.status === 'succeeded') {
      if (r.finalFile) runs.addArtifact(this.db, runId, 'final', join(dir, r.finalFile.rel), r.finalFile.sha256, r.finalFile.bytes)
      // a finished run keeps its newest checkpoint only (the engine removed the previous one)
      runs.removeArtifact(this.db, runId, 'checkpoint', checkpointWeightsPath(dir, 'previous'))
    }
    const status = r.status === 'diverged' ? 'failed' : r.status
    this.end(runId, status, { bestEpoch: r.bestEpoch, final: r.final, error: r.error ?? null, health: r.health })
  }

  private failed(runId: number, job: Job<RunJobData, RunJobResult>): void {
    const reason = job.failedReason || 'the job failed'
    if (job.data.cancel) this.end(runId, 'cancelled', {})
    // an engine that kept dying under the run (retries exhausted): resumable, as on one machine
    else if (/^(engine down|lock lost) on worker /.test(reason)) this.end(runId, 'interrupted', { error: reason })
    else this.end(runId, 'failed', { error: reason })
  }

  private end(runId: number, status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted', out: Parameters<typeof runs.finishRun>[3]): void {
    // once: another process on this store (a `daft` command with the queue) may have read the same outcome
    const now = runs.getRunStatus(this.db, runId)?.status
    if (now !== 'queued' && now !== 'running' && now !== 'interrupted') return
    if (!runs.finishRun(this.db, runId, status, out)) return
    this.active.delete(runId)
    this.hub.publish({ type: 'run.state', runId, status, ...(out?.error ? { error: out.error } : {}) })
    if (status === 'interrupted') return
    // analysis and sweep steps, one at a time, as the local runner does after each run
    this.afterPending++
    this.after = this.after
      .then(() => this.opts.afterRun?.(runId))
      .catch((e: Error) => console.error(`after run ${runId}: ${e.message}`))
      .finally(() => {
        this.afterPending--
        this.checkIdle()
      })
  }

  private async enqueueAll(): Promise<void> {
    const fingerprints = new Map<string, Promise<string>>()
    const fp = (key: string, f: () => Promise<string>): Promise<string> => {
      if (!fingerprints.has(key)) fingerprints.set(key, f())
      return fingerprints.get(key)!
    }
    for (const runId of remote.queuedRuns(this.db)) {
      if (this.closed) return
      const jobId = jobIdOf(this.storeId, runId)
      const state = await this.queue.getJobState(jobId)
      const row = remote.remoteRun(this.db, runId)!
      if (state !== 'unknown') {
        // resumed by the user: the old attempt's job makes way for a new one
        if (this.fresh.has(runId) && (state === 'completed' || state === 'failed')) await this.queue.remove(jobId)
        else {
          if (!row.remoteJob) remote.markQueuedRemote(this.db, runId, jobId, row.runDir ?? sharedRunDir(this.opts.sharedDir, this.storeId, runId))
          continue
        }
      }
      this.fresh.delete(runId)
      const spec = runs.getRunSpec(this.db, runId)
      const runDir = row.runDir ?? sharedRunDir(this.opts.sharedDir, this.storeId, runId)
      let data: RunJobData
      try {
        const datasets: Record<string, string> = {}
        for (const root of specRoots(spec)) datasets[root] = await fp(`d:${root}`, async () => (await datasetFingerprint(root)).fingerprint)
        const model = await fp(`m:${spec.model.path}`, () => modelFingerprint(spec.model.path))
        const known = runs.checkpointArtifacts(this.db, runId).map((k) => k.sha256)
        // (the worker creates the run folder, as its own user: 0700, as on one machine)
        data = { v: JOB_DATA_VERSION, storeId: this.storeId, runId, spec, runDir, fingerprints: { model, datasets }, known }
      } catch (e) {
        this.end(runId, 'failed', { error: `not queued: ${(e as Error).message}` })
        continue
      }
      remote.markQueuedRemote(this.db, runId, jobId, runDir)
      await this.queue.add('run', data, {
        jobId,
        attempts: this.opts.attempts ?? 3,
        backoff: { type: 'exponential', delay: 5000 },
        removeOnComplete: { age: KEEP_JOBS_S },
        removeOnFail: { age: KEEP_JOBS_S },
      })
    }
  }

  private async dropJob(jobId: string): Promise<void> {
    const job = await Job.fromId<RunJobData, RunJobResult>(this.queue, jobId)
    if (!job) return
    try {
      await job.remove()
    } catch {
      // a worker holds it (locked): ask it to stop
      await this.askCancel(jobId)
    }
  }

  private async askCancel(jobId: string): Promise<void> {
    const job = await Job.fromId<RunJobData, RunJobResult>(this.queue, jobId)
    if (!job) return
    if (!job.data.cancel) await job.updateData({ ...job.data, cancel: true })
    await this.producer.publishEvent({ eventName: CANCEL_EVENT, jobId }, 10_000)
  }
}
