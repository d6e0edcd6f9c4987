/**
 * The worker side of the run queue (`daft worker`): a BullMQ Worker that takes run jobs and trains each in an engine
 * process of its own (the same EngineHost and engine as the app, on this machine's best backend). One engine per
 * concurrency slot.
 *
 * BullMQ does the distribution: the job lock (renewed while a run trains), stalled-job detection (a worker that dies
 * leaves a stalled job that BullMQ hands to another worker), retries with exponential backoff (an engine that died
 * under a run), UnrecoverableError (a run that must not be retried: refused, or failed in training), progress events,
 * per-job logs, the return value, worker names (queue.getWorkers()), local cancellation (worker.cancelJob + the
 * processor's AbortSignal). This file only maps a job onto the engine:
 * - refuses a job whose model or dataset fingerprint differs from the planned one (no training on the wrong data);
 * - resumes from the run folder's newest usable checkpoint when an earlier attempt (or the store) recorded its hash;
 * - logs every epoch (with its checkpoint) and the batch losses on the job, and reports batches as progress.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, relative } from 'node:path'
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq'
import type { BackendName } from '../../../shared/types'
import { EngineDownError, EngineHost } from '../engineHost'
import { FINAL_WEIGHTS, type EngineEvent, type EngineSpawner } from '../../engine/protocol'
import { chooseCheckpoint, checkpointWeightsPath } from '../../engine/tasks/checkpoint'
import { keepBatchStep } from '../../store/runs'
import { datasetFingerprint } from '../../services/catalog'
import { modelFingerprint } from '../../services/models'
import {
  CANCEL_EVENT,
  DEFAULT_QUEUE,
  JOB_DATA_VERSION,
  QUEUE_PREFIX,
  mapPath,
  mapSpec,
  queueTimings,
  redisConnection,
  specRoots,
  workersKey,
  type FileRef,
  type PathMapping,
  type RunJobData,
  type RunJobResult,
  type RunLogRecord,
  type RunProgress,
  type WorkerInfo,
} from './protocol'

export interface QueueWorkerOptions {
  redis: string
  queueName?: string
  concurrency?: number
  pathMap?: PathMapping[]
  spawner: EngineSpawner
  backend?: BackendName
  /** this worker's decoded-image cache */
  cacheDir: string
  /** default <host>-<pid> */
  name?: string
  version: string
  log?: (line: string) => void
}

const LOSS_CHUNK = 50
const BATCH_PROGRESS_MS = 250
const ANNOUNCE_MS = 5000
const CANCEL_POLL_MS = 2000

export class QueueWorker {
  readonly name: string
  readonly host = hostname()
  private readonly engines: EngineHost[] = []
  private readonly free: EngineHost[] = []
  private readonly slotWaiters: ((e: EngineHost) => void)[] = []
  private worker?: Worker<RunJobData, RunJobResult>
  private queue?: Queue<RunJobData, RunJobResult>
  private events?: QueueEvents
  private announceTimer?: ReturnType<typeof setInterval>
  private readonly current = new Map<string, { storeId: string; runId: number; jobId: string }>()
  /** jobs whose lock this worker could not renew: their run is stopped and never reported as cancelled */
  private readonly lockLost = new Set<string>()
  private readonly startedAt = new Date().toISOString()
  private readonly log: (line: string) => void
  private readonly queueName: string

  constructor(private readonly opts: QueueWorkerOptions) {
    this.name = opts.name ?? `${this.host}-${process.pid}`
    this.log = opts.log ?? ((l) => console.log(l))
    this.queueName = opts.queueName ?? DEFAULT_QUEUE
  }

  get info(): WorkerInfo {
    const b = this.engines[0]?.backend
    return {
      name: this.name,
      host: this.host,
      backend: b?.name ?? 'unknown',
      device: b?.device ?? 'unknown',
      version: this.opts.version,
      concurrency: this.engines.length,
      current: [...this.current.values()],
      startedAt: this.startedAt,
      lastSeen: new Date().toISOString(),
    }
  }

  /** Starts the engine(s) (the backend is known before the first job is taken), then takes jobs. */
  async start(): Promise<WorkerInfo> {
    const n = Math.max(1, this.opts.concurrency ?? 1)
    for (let i = 0; i < n; i++) this.engines.push(new EngineHost(this.opts.spawner, { backend: this.opts.backend }))
    await Promise.all(this.engines.map((e) => e.start()))
    this.free.push(...this.engines)
    const connection = redisConnection(this.opts.redis)
    const t = queueTimings()
    this.queue = new Queue(this.queueName, { connection, prefix: QUEUE_PREFIX })
    this.events = new QueueEvents(this.queueName, { connection, prefix: QUEUE_PREFIX })
    this.events.on(CANCEL_EVENT as 'error', ((args: { jobId?: string }) => {
      if (args?.jobId && this.current.has(args.jobId)) this.worker?.cancelJob(args.jobId, 'cancelled from the app')
    }) as never)
    this.worker = new Worker<RunJobData, RunJobResult>(this.queueName, (job, token, signal) => this.process(job, signal), {
      connection,
      prefix: QUEUE_PREFIX,
      name: this.name,
      concurrency: n,
      lockDuration: t.lockDuration,
      stalledInterval: t.stalledInterval,
      maxStalledCount: t.maxStalledCount,
    })
    this.worker.on('error', (e) => this.log(`worker error: ${e.message}`))
    // a lock this worker could not renew (it was cut off from Redis too long): BullMQ hands the job to another worker as
    // stalled, so this one stops training it (never two engines writing one run folder)
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) {
        if (!this.current.has(id)) continue
        this.log(`job ${id}: lost its lock; stopping the run here (another worker resumes it from its checkpoint)`)
        this.lockLost.add(id)
        this.worker?.cancelJob(id, 'lock lost')
      }
    })
    this.worker.on('failed', (job, e) => job && this.log(`job ${job.id} (run ${job.data.runId}) failed on attempt ${job.attemptsMade}: ${e.message}`))
    this.worker.on('completed', (job, r) => this.log(`job ${job.id} (run ${job.data.runId}) ${r.status}`))
    await this.worker.waitUntilReady()
    await this.events.waitUntilReady()
    await this.announce()
    this.announceTimer = setInterval(() => void this.announce().catch(() => undefined), ANNOUNCE_MS)
    this.announceTimer.unref?.()
    return this.info
  }

  /** Stops taking jobs, lets running ones finish (or, with force, abandons them: BullMQ hands them on), stops the engines. */
  async close(force = false): Promise<void> {
    if (this.announceTimer) clearInterval(this.announceTimer)
    await this.worker?.close(force)
    await this.events?.close()
    const client = await this.queue?.client.catch(() => undefined)
    await client?.hdel(workersKey(this.queueName), this.name).catch(() => undefined)
    await this.queue?.close()
    await Promise.all(this.engines.map((e) => e.stop()))
  }

  private async announce(): Promise<void> {
    const client = await this.queue!.client
    await client.hset(workersKey(this.queueName), { [this.name]: JSON.stringify(this.info) })
  }

  private takeEngine(): Promise<EngineHost> {
    const e = this.free.pop()
    if (e) return Promise.resolve(e)
    return new Promise((r) => this.slotWaiters.push(r))
  }

  private giveEngine(e: EngineHost): void {
    const w = this.slotWaiters.shift()
    if (w) w(e)
    else this.free.push(e)
  }

  private async checkFingerprints(d: RunJobData, map: readonly PathMapping[]): Promise<void> {
    const refuse = (what: string): never => {
      throw new UnrecoverableError(`refused by worker ${this.name}: ${what}; no training on other data than planned (check the shared folders and --path-map)`)
    }
    const modelPath = mapPath(d.spec.model.path, map)
    const model = await modelFingerprint(modelPath).catch((e: Error) => refuse(`the model ${modelPath} cannot be read (${e.message})`))
    if (model !== d.fingerprints.model) refuse(`the model at ${modelPath} is not the one the run was planned with (fingerprint ${model.slice(0, 12)}, planned ${String(d.fingerprints.model).slice(0, 12)})`)
    for (const root of specRoots(d.spec)) {
      const local = mapPath(root, map)
      const fp = await datasetFingerprint(local).catch((e: Error) => refuse(`the dataset ${local} cannot be read (${e.message})`))
      if (fp.fingerprint !== d.fingerprints.datasets[root]) {
        refuse(`the dataset at ${local} is not the one the run was planned with (fingerprint ${fp.fingerprint.slice(0, 12)}, planned ${String(d.fingerprints.datasets[root]).slice(0, 12)})`)
      }
    }
  }

  private async process(job: Job<RunJobData, RunJobResult>, signal?: AbortSignal): Promise<RunJobResult> {
    const d = job.data
    const jobId = job.id!
    if (d.v !== JOB_DATA_VERSION) throw new UnrecoverableError(`job data version ${d.v}: this worker (${this.opts.version}) reads version ${JOB_DATA_VERSION}; update the worker`)
    if (d.cancel) return { status: 'cancelled', health: null, bestEpoch: null, final: {}, backend: 'none', worker: this.name }
    const map = this.opts.pathMap ?? []
    const spec = mapSpec(d.spec, map)
    const runDir = mapPath(d.runDir, map)
    await this.checkFingerprints(d, map)
    const engine = await this.takeEngine()
    this.current.set(jobId, { storeId: d.storeId, runId: d.runId, jobId })
    void this.announce().catch(() => undefined)
    // job.log / updateProgress in the order the engine's events came
    let chain: Promise<unknown> = Promise.resolve()
    const send = (rec: RunLogRecord, logged?: () => void): void => {
      chain = chain
        .then(() => job.log(JSON.stringify(rec)))
        .then((n) => {
          logged?.()
          return job.updateProgress({ t: 'log', n } satisfies RunProgress)
        })
        .catch((e: Error) => this.log(`job ${jobId}: could not log: ${e.message}`))
    }
    let losses: [number, number, number][] = []
    const flush = (): void => {
      if (losses.length) send({ t: 'losses', rows: losses })
      losses = []
    }
    let lastBatch = 0
    const onEvent = (ev: EngineEvent): void => {
      if (!('runId' in ev) || ev.runId !== d.runId) return
      if (ev.type === 'run.batch') {
        if (keepBatchStep(ev.step) && Number.isFinite(ev.loss)) losses.push([ev.step, ev.epoch, ev.loss])
        if (losses.length >= LOSS_CHUNK) flush()
        const now = Date.now()
        if (now - lastBatch >= BATCH_PROGRESS_MS || ev.batch + 1 === ev.batches) {
          lastBatch = now
          const p: RunProgress = { t: 'batch', epoch: ev.epoch, step: ev.step, batch: ev.batch, batches: ev.batches, loss: ev.loss, imagesPerSec: ev.imagesPerSec }
          chain = chain.then(() => job.updateProgress(p)).catch(() => undefined)
        }
      } else if (ev.type === 'run.epoch') {
        flush()
        const c = ev.checkpoint
        send({ t: 'epoch', metrics: ev.metrics, imagesPerSec: ev.imagesPerSec, ...(c ? { checkpoint: { epoch: c.epoch, rel: relative(runDir, c.path), sha256: c.sha256, bytes: c.bytes } } : {}) }, () =>
          this.log(`run ${d.runId} of store ${d.storeId}: epoch ${ev.metrics.epoch + 1} done${c ? ', checkpoint recorded' : ''}`),
        )
      } else if (ev.type === 'run.stage') {
        send({ t: 'stage', stage: ev.stage })
      }
    }
    engine.on('event', onEvent)
    const stop = (): void => void engine.request('run.cancel', { runId: d.runId }).catch(() => undefined)
    signal?.addEventListener('abort', stop)
    // a cancel asked for while no event reached this worker (the job's data says so)
    const poll = setInterval(() => {
      void Job.fromId(this.queue!, jobId)
        .then((j) => j?.data.cancel && stop())
        .catch(() => undefined)
    }, CANCEL_POLL_MS)
    try {
      if (engine.state !== 'ready') await engine.start()
      // the checkpoints earlier attempts recorded (and the store knew when the run was queued)
      const known = new Set(d.known)
      const prior = await this.queue!.getJobLogs(jobId, 0, -1, true)
      for (const line of prior.logs) {
        try {
          const rec = JSON.parse(line) as RunLogRecord
          if (rec.t === 'epoch' && rec.checkpoint) known.add(rec.checkpoint.sha256)
        } catch {
          // not ours
        }
      }
      let epochsDone: number | null = null
      let kept: FileRef[] = []
      let note: string | undefined
      if (known.size) {
        const c = await chooseCheckpoint(runDir, known)
        if (c.use) {
          epochsDone = c.epochsDone
          kept = [{ rel: relative(runDir, checkpointWeightsPath(runDir)), sha256: c.sha256!, bytes: c.bytes! }]
        }
        if (c.use !== 'newest') note = c.use === 'previous' ? `resuming from the previous checkpoint (after epoch ${c.epochsDone}): ${c.problems.join('; ')}` : `starting over: no usable checkpoint (${c.problems.join('; ')})`
      }
      const attempt = job.attemptsStarted || job.attemptsMade + 1
      const b = engine.backend
      send({ t: 'start', attempt, worker: this.name, host: this.host, backend: b?.name ?? 'unknown', device: b?.device ?? 'unknown', epochsDone, kept, ...(note ? { note } : {}) })
      this.log(`run ${d.runId} of store ${d.storeId} (job ${jobId}, attempt ${attempt}): ${epochsDone === null ? 'starting' : `resuming after epoch ${epochsDone}`} in ${runDir}`)
      let out
      try {
        out = await engine.request('run.start', { runId: d.runId, spec, runDir, cacheDir: this.opts.cacheDir, resume: epochsDone !== null })
      } catch (e) {
        // an engine that died under the run: BullMQ retries (with backoff) and the next attempt resumes; anything
        // else failed in training, as it would on one machine
        if (e instanceof EngineDownError) throw new Error(`engine down on worker ${this.name}: ${e.message}`, { cause: e })
        throw new UnrecoverableError((e as Error).message)
      }
      flush()
      await chain
      // stopped because the lock was lost: not a cancel; if BullMQ still lets this worker fail the job, it is retried
      if (this.lockLost.has(jobId)) throw new Error(`lock lost on worker ${this.name}: the run was stopped here`)
      let finalFile: FileRef | undefined
      const finalPath = join(runDir, FINAL_WEIGHTS)
      if (out.status === 'succeeded' && existsSync(finalPath)) {
        const buf = readFileSync(finalPath)
        finalFile = { rel: FINAL_WEIGHTS, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length }
      }
      return { ...out, worker: this.name, ...(finalFile ? { finalFile } : {}) }
    } finally {
      clearInterval(poll)
      this.lockLost.delete(jobId)
      signal?.removeEventListener('abort', stop)
      engine.off('event', onEvent)
      await chain.catch(() => undefined)
      this.current.delete(jobId)
      this.giveEngine(engine)
      void this.announce().catch(() => undefined)
    }
  }
}
