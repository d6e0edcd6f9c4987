/**
 * Runs queued on Redis (BullMQ) and trained by `daft worker` processes, with real parts: Debian's redis-server on a
 * free port, two workers run from source as a user starts them, the app's side (startApp with the queue) writing the
 * store, and a SIGKILL.
 * 1. A small sweep (FT + DAFT's two steps, demo shapes, 200 images, 2 epochs) over two workers; one worker is killed
 *    once it has finished an epoch. Every run succeeds with the metrics of a single-machine run of the same spec and
 *    seed, the killed run resumes on the other worker from its checkpoint (no run trains twice to completion), the
 *    store has every epoch, and the killed worker's engine does not go on training.
 * 2. The app's side is closed mid-sweep and opened again: it reads back what the workers did meanwhile (epochs,
 *    losses, outcomes, the sweep's next step) and nothing is lost.
 * 3. A worker whose dataset differs from the planned one (--path-map to a copy with one image less) refuses the run
 *    with an error on it and trains nothing; a run cancelled from the app while a worker trains it stops there (the
 *    other run that worker trains at the same time, --concurrency 2, goes on).
 * 4. Resume across workers: a run whose worker died and whose job is gone from Redis becomes interrupted; resumed, it
 *    goes to another worker with the checkpoint hashes the store knows and continues from its last epoch.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../../../../src/main/app'
import { forkSpawner } from '../../../../src/main/jobs/forkSpawner'
import * as runs from '../../../../src/main/store/runs'
import { createExperimentService } from '../../../../src/main/services/experiments'
import { demoDataDir } from '../../../../src/main/services/demo'
import { ensureDemoProject } from '../../../../src/main/services/projects'
import { generateDemoData } from '../../../../src/main/demo/generate'
import { DEFAULT_QUEUE, QUEUE_PREFIX, redisConnection, type RunLogRecord } from '../../../../src/main/jobs/queue/protocol'
import { storeId } from '../../../../src/main/store/remoteRuns'
import type { RunSummary } from '../../../../src/shared/experiments'
import { ROOT } from '../../../helpers/paths'
import { childPids, pidAlive, startRedis, startWorker, type RedisServer, type WorkerProcess } from './helpers'
import { queueSweepSpec, runKey } from './sweepSpec'

const tmp = mkdtempSync(join(tmpdir(), 'daft-queue-'))
const dataDir = join(tmp, 'app')
const refDir = join(tmp, 'ref')
const shared = join(tmp, 'shared')
const resources = join(ROOT, 'resources')
const engineEntry = join(ROOT, 'src', 'main', 'engine', 'worker.ts')
/** an upper bound per test for a heavily loaded machine (each takes 0.5 to 2 minutes on 2 cores) */
const TEST_LIMIT_MS = 900_000
/** short BullMQ locks so a killed worker's job stalls within seconds */
const workerEnv = { DAFT_QUEUE_LOCK_MS: '6000' }

let redis: RedisServer
const workers: WorkerProcess[] = []
let reference: Map<string, { run: RunSummary; epochs: ReturnType<typeof runs.runEpochs> }> | undefined

function openApp(dir: string, queue: boolean): App {
  return startApp({
    dataDir: dir,
    mode: 'cli',
    resourcesDir: resources,
    skipDemo: true,
    skipAnalysis: true,
    lazyEngine: true,
    redis: queue ? redis.url : '',
    shared,
    spawner: forkSpawner({ entry: engineEntry }),
  })
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms))])
}

/** The same sweep on one machine with the local runner (computed once, after the first queue test). */
async function singleMachine(): Promise<NonNullable<typeof reference>> {
  if (reference) return reference
  const app = openApp(refDir, false)
  try {
    const { experimentId } = createExperimentService(app.db, ensureDemoProject(app.db), queueSweepSpec(dataDir, resources))
    await withTimeout(app.idle(), 400_000, 'the single-machine sweep')
    reference = new Map(runs.listRuns(app.db, { experimentId }).map((r) => [runKey(r), { run: r, epochs: runs.runEpochs(app.db, r.id) }]))
    return reference
  } finally {
    await app.close()
  }
}

/** Every run of the experiment succeeded with the single-machine metrics, every epoch and batch losses in the store. */
async function expectSameAsSingleMachine(app: App, experimentId: number): Promise<void> {
  const ref = await singleMachine()
  const all = runs.listRuns(app.db, { experimentId })
  expect(all.map((r) => `${runKey(r)}: ${r.status}${r.error ? ` ${r.error}` : ''}`).sort()).toEqual([...ref.keys()].map((k) => `${k}: succeeded`).sort())
  for (const r of all) {
    const want = ref.get(runKey(r))!
    expect(r.worker, `run ${r.id} names its worker`).toMatch(/^w\d$/)
    expect(r.final, runKey(r)).toEqual(want.run.final)
    expect(r.bestEpoch).toBe(want.run.bestEpoch)
    const epochs = runs.runEpochs(app.db, r.id)
    // every epoch (DAFT also records its starting point as epoch -1)
    expect(epochs.map((e) => e.epoch)).toEqual(want.epochs.map((e) => e.epoch))
    expect(epochs.filter((e) => e.epoch >= 0).length).toBe(2)
    // accuracies exactly; the mean training loss exactly on wasm, to 1e-5 relative where threaded kernels (native/,
    // tfjs-node) may sum in another order in another process (seen once: 6e-7 on a loss of 1.42)
    expect(epochs.map((e) => e.acc), runKey(r)).toEqual(want.epochs.map((e) => e.acc))
    const diffs = epochs.map((e, i) => Math.abs((e.trainLoss ?? 0) - (want.epochs[i].trainLoss ?? 0)))
    console.log(`${runKey(r)} on ${r.worker}: train loss differs from the single-machine run by at most ${Math.max(...diffs)}`)
    epochs.forEach((e, i) => {
      const w = want.epochs[i].trainLoss
      if (w === null) expect(e.trainLoss).toBeNull()
      else expect(Math.abs(e.trainLoss! - w), `${runKey(r)} epoch ${e.epoch} train loss ${e.trainLoss} vs ${w}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w)))
    })
    expect(runs.runBatchLosses(app.db, r.id).length, `run ${r.id} has its batch losses`).toBeGreaterThan(0)
    // the final weights and the newest checkpoint are recorded where this app reaches them (the shared folder)
    const files = app.db.prepare('SELECT kind, path FROM artifacts WHERE run_id = ? ORDER BY kind').all(r.id) as { kind: string; path: string }[]
    expect(files.map((f) => f.kind)).toEqual(['checkpoint', 'final'])
    for (const f of files) expect(existsSync(f.path), f.path).toBe(true)
    expect(app.runner.runDir(r.id).startsWith(join(shared, 'runs'))).toBe(true)
  }
}

/** The logs of a run's job: how many attempts started, and how many times each epoch was finished. */
async function jobHistory(app: App, runId: number): Promise<{ attempts: number; starts: RunLogRecord[]; epochCounts: Record<number, number> }> {
  const q = new Queue(DEFAULT_QUEUE, { connection: redisConnection(redis.url), prefix: QUEUE_PREFIX })
  try {
    const jobId = `${storeId(app.db)}-${runId}`
    const job = await q.getJob(jobId)
    const { logs } = await q.getJobLogs(jobId, 0, -1, true)
    const recs = logs.map((l) => JSON.parse(l) as RunLogRecord)
    const epochCounts: Record<number, number> = {}
    for (const rec of recs) if (rec.t === 'epoch') epochCounts[rec.metrics.epoch] = (epochCounts[rec.metrics.epoch] ?? 0) + 1
    return { attempts: job!.attemptsStarted, starts: recs.filter((r) => r.t === 'start'), epochCounts }
  } finally {
    await q.close()
  }
}

beforeAll(async () => {
  mkdirSync(shared, { recursive: true })
  redis = await startRedis()
  await generateDemoData(demoDataDir(dataDir))
})

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()))
  await redis?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

describe('runs queued on Redis, trained by daft workers', () => {
  it('two workers, one SIGKILLed mid-run: every run succeeds as on one machine, the killed one resumes elsewhere', async () => {
    const w1 = startWorker(redis.url, 'w1', join(tmp, 'w1'), [], workerEnv)
    const w2 = startWorker(redis.url, 'w2', join(tmp, 'w2'), [], workerEnv)
    workers.push(w1, w2)
    // each announces its host, backend, device and version
    const announced = await Promise.all([w1, w2].map((w) => w.waitFor(/^worker w\d on .+: \w+ \(.+\), daft \d+\.\d+\.\d+.*$/m)))
    console.log(announced.map((m) => m[0]).join('\n'))

    const t0 = Date.now()
    const app = openApp(dataDir, true)
    try {
      expect(app.queue?.redis).toBe(redis.url)
      const { experimentId } = createExperimentService(app.db, ensureDemoProject(app.db), queueSweepSpec(dataDir, resources))
      const done = app.idle()
      // kill whichever worker first finishes an epoch, mid-run (its engine must not go on training)
      const [victim, m] = await Promise.race([w1, w2].map((w) => w.waitFor(/run (\d+) of store \w+: epoch 1 done/).then((m) => [w, m] as const)))
      const killedRun = Number(m[1])
      const engines = childPids(victim.child.pid!)
      expect(engines.length).toBeGreaterThan(0)
      victim.child.kill('SIGKILL')
      await new Promise((r) => victim.child.once('exit', r))
      await withTimeout(
        (async () => {
          while (engines.some(pidAlive)) await new Promise((r) => setTimeout(r, 100))
        })(),
        10_000,
        'the killed worker\'s engine exiting',
      )
      const survivor = victim === w1 ? w2 : w1

      await withTimeout(done, 400_000, 'the sweep on the queue')
      const wall = (Date.now() - t0) / 1000
      console.log(`queue sweep: ${wall.toFixed(1)} s with two workers, one killed`)

      // the killed run: resumed on the survivor from the checkpoint after epoch 1, each epoch finished once
      const killed = runs.listRuns(app.db, { runId: killedRun })[0]
      expect(killed.worker).toBe(survivor.name)
      const h = await jobHistory(app, killedRun)
      expect(h.attempts).toBe(2)
      expect(h.starts.map((s) => [s.t === 'start' && s.worker, s.t === 'start' && s.epochsDone])).toEqual([
        [victim.name, null],
        [survivor.name, 1],
      ])
      // each epoch finished once (DAFT's starting point, epoch -1, included when the killed run is a DAFT run)
      expect(Object.values(h.epochCounts).every((n) => n === 1)).toBe(true)
      expect(h.epochCounts).toMatchObject({ 0: 1, 1: 1 })
      // no other run trained twice
      for (const r of runs.listRuns(app.db, { experimentId })) {
        if (r.id === killedRun) continue
        const o = await jobHistory(app, r.id)
        expect(o.attempts, `run ${r.id}`).toBe(1)
        expect(Object.values(o.epochCounts).every((n) => n === 1), `run ${r.id}: each epoch finished once`).toBe(true)
      }
      // the workers' view: the survivor is listed, online
      expect(runs.listRuns(app.db, { experimentId }).length).toBe(4)
      await expectSameAsSingleMachine(app, experimentId)
    } finally {
      await app.close()
    }
  }, TEST_LIMIT_MS)

  it('the app closed mid-sweep and opened again: nothing the workers did meanwhile is lost', async () => {
    const w3 = startWorker(redis.url, 'w3', join(tmp, 'w3'), [], workerEnv)
    workers.push(w3)
    await w3.waitFor(/^worker w3 on /m)
    let app = openApp(dataDir, true)
    const { experimentId } = createExperimentService(app.db, ensureDemoProject(app.db), queueSweepSpec(dataDir, resources, 'queue sweep, reconnect'))
    void app.idle()
    // close the app once the store has a finished epoch
    await withTimeout(
      (async () => {
        while (!runs.listRuns(app.db, { experimentId }).some((r) => runs.runEpochs(app.db, r.id).length > 0)) await new Promise((r) => setTimeout(r, 200))
      })(),
      300_000,
      'a first epoch',
    )
    const firstRuns = runs.listRuns(app.db, { experimentId }).map((r) => r.id)
    // what the store had when the app went away: at most one trained epoch of any run, no run finished
    const trainedAtClose = firstRuns.map((id) => runs.runEpochs(app.db, id).filter((e) => e.epoch >= 0).length)
    expect(Math.max(...trainedAtClose)).toBeLessThan(2)
    expect(runs.listRuns(app.db, { experimentId }).every((r) => r.status === 'queued' || r.status === 'running')).toBe(true)
    const sid = storeId(app.db)
    await app.close()

    // meanwhile the workers finish the first step's runs
    const q = new Queue(DEFAULT_QUEUE, { connection: redisConnection(redis.url), prefix: QUEUE_PREFIX })
    try {
      await withTimeout(
        (async () => {
          for (;;) {
            const states = await Promise.all(firstRuns.map((id) => q.getJobState(`${sid}-${id}`)))
            if (states.every((s) => s === 'completed')) return
            await new Promise((r) => setTimeout(r, 500))
          }
        })(),
        300_000,
        'the first runs completing while the app is closed',
      )
    } finally {
      await q.close()
    }

    app = openApp(dataDir, true)
    try {
      // the store still says what it knew when it was closed; opening reads the rest back and queues the next step
      await withTimeout(app.idle(), 400_000, 'the rest of the sweep')
      await expectSameAsSingleMachine(app, experimentId)
    } finally {
      await app.close()
    }
  }, TEST_LIMIT_MS)

  it('a worker refuses a run whose dataset differs from the planned one; cancel reaches the worker training a run', async () => {
    await Promise.all(workers.map((w) => w.stop()))
    // the ID data as a worker with a stale copy sees it: one image less
    const color = join(demoDataDir(dataDir), 'color')
    const stale = join(tmp, 'stale-color')
    cpSync(color, stale, { recursive: true })
    const trainDir = join(stale, 'train', readdirSync(join(stale, 'train'))[0])
    rmSync(join(trainDir, readdirSync(trainDir)[0]))
    const w4 = startWorker(redis.url, 'w4', join(tmp, 'w4'), ['--path-map', `${color}=${stale}`], workerEnv)
    workers.push(w4)
    await w4.waitFor(/^worker w4 on /m)
    const app = openApp(dataDir, true)
    try {
      const base = queueSweepSpec(dataDir, resources, 'refused')
      const one = { ...base, sweep: undefined, methods: base.methods.filter((m) => m.method === 'FT') }
      const refused = createExperimentService(app.db, ensureDemoProject(app.db), one)
      await withTimeout(app.idle(), 120_000, 'the refusal')
      const [r] = runs.listRuns(app.db, { experimentId: refused.experimentId })
      expect(r.status).toBe('failed')
      expect(r.error).toMatch(/refused by worker w4: the dataset at .*stale-color is not the one the run was planned with/)
      expect(runs.runEpochs(app.db, r.id)).toEqual([])
      await w4.stop()

      // cancel: the worker stops the run between batches, the store says cancelled; the other run on the same worker
      // (--concurrency 2: two engines) goes on
      const w5 = startWorker(redis.url, 'w5', join(tmp, 'w5'), ['--concurrency', '2'], workerEnv)
      workers.push(w5)
      await w5.waitFor(/^worker w5 on .*, 2 at a time/m)
      const two = createExperimentService(app.db, ensureDemoProject(app.db), { ...one, name: 'cancelled', seeds: [0, 1] })
      const [runId, otherId] = two.runIds
      const batch = new Promise<void>((resolve) => {
        const off = app.events.subscribe((ev) => {
          if (ev.type === 'run.batch' && ev.runId === runId) {
            off()
            resolve()
          }
        })
      })
      const idle = app.idle()
      await withTimeout(batch, 240_000, 'a first batch').catch((e: Error) => {
        throw new Error(`${e.message}; worker w5 said:\n${w5.output()}`)
      })
      // both runs train at once on w5, as its announcement says
      await withTimeout(
        (async () => {
          while (((await app.services['workers.list']({})).find((w) => w.name === 'w5')?.current.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 300))
        })(),
        60_000,
        'two runs on w5 at once',
      )
      expect(await app.runner.cancel(runId)).toBe(true)
      await withTimeout(idle, 180_000, 'the cancel')
      const [c] = runs.listRuns(app.db, { runId })
      expect(c.status).toBe('cancelled')
      expect(c.worker).toBe('w5')
      expect(runs.runEpochs(app.db, runId).filter((e) => e.epoch >= 0).length).toBeLessThan(2)
      const [other] = runs.listRuns(app.db, { runId: otherId })
      expect([other.status, other.worker]).toEqual(['succeeded', 'w5'])
      // the worker list: w5 online and idle again, w4 gone
      const listed = await app.services['workers.list']({})
      expect(listed.find((w) => w.name === 'w5')).toMatchObject({ online: true, current: [], concurrency: 2 })
      expect(listed.find((w) => w.name === 'w4')?.online ?? false).toBe(false)
    } finally {
      await app.close()
    }
  }, TEST_LIMIT_MS)

  it('an interrupted remote run resumes on another worker from its checkpoint', async () => {
    await Promise.all(workers.map((w) => w.stop()))
    const w6 = startWorker(redis.url, 'w6', join(tmp, 'w6'), [], workerEnv)
    workers.push(w6)
    await w6.waitFor(/^worker w6 on /m)
    let app = openApp(dataDir, true)
    const base = queueSweepSpec(dataDir, resources, 'resumed')
    const { runIds } = createExperimentService(app.db, ensureDemoProject(app.db), { ...base, sweep: undefined, methods: base.methods.filter((m) => m.method === 'FT') })
    const runId = runIds[0]
    void app.idle()
    await w6.waitFor(/run \d+ of store \w+: epoch 1 done/, 240_000)
    // the worker has logged the epoch; the app writes it when it reads the job's log (its next event or poll): the
    // store must hold it before the job (and so its log) is removed below
    await withTimeout(
      (async () => {
        while (runs.runEpochs(app.db, runId).length < 1) await new Promise((r) => setTimeout(r, 200))
      })(),
      60_000,
      'the app recording epoch 1',
    )
    await w6.stop()
    const jobId = `${storeId(app.db)}-${runId}`
    await app.close()
    // the job goes away with its worker (Redis emptied, say) once its lock has expired
    const q = new Queue(DEFAULT_QUEUE, { connection: redisConnection(redis.url), prefix: QUEUE_PREFIX })
    try {
      await withTimeout(
        (async () => {
          while ((await q.remove(jobId)) !== 1) await new Promise((r) => setTimeout(r, 500))
        })(),
        60_000,
        'removing the dead worker\'s job',
      )
    } finally {
      await q.close()
    }
    app = openApp(dataDir, true)
    try {
      app.runner.kick()
      await withTimeout(
        (async () => {
          while (runs.getRunStatus(app.db, runId)?.status !== 'interrupted') await new Promise((r) => setTimeout(r, 200))
        })(),
        60_000,
        'the run becoming interrupted',
      )
      expect(runs.runEpochs(app.db, runId).map((e) => e.epoch)).toEqual([0])
      const w7 = startWorker(redis.url, 'w7', join(tmp, 'w7'), [], workerEnv)
      workers.push(w7)
      await w7.waitFor(/^worker w7 on /m)
      expect(app.runner.resume(runId)).toBe(true)
      await withTimeout(app.idle(), 300_000, 'the resumed run')
      const [r] = runs.listRuns(app.db, { runId })
      expect([r.status, r.worker]).toEqual(['succeeded', 'w7'])
      const h = await jobHistory(app, runId)
      expect(h.starts.map((s) => [s.t === 'start' && s.worker, s.t === 'start' && s.epochsDone])).toEqual([['w7', 1]])
      // the same result as the uninterrupted single-machine run of this recipe and seed
      const want = [...(await singleMachine()).values()].find((x) => x.run.method === 'FT' && x.run.seed === 0)!
      expect(r.final).toEqual(want.run.final)
      expect(runs.runEpochs(app.db, runId).map((e) => [e.epoch, e.acc])).toEqual(want.epochs.map((e) => [e.epoch, e.acc]))
    } finally {
      await app.close()
    }
  }, TEST_LIMIT_MS)
})
