/**
 * Wall time of the queue tests' sweep (FT + DAFT's two-step sweep on the demo shapes: 200 training images, 2 epochs,
 * 4 runs, step 2 and the final run queued when the runs before them are done) trained
 *   - by this machine's local runner (no queue),
 *   - by one `daft worker` through Redis,
 *   - by two `daft worker`s through Redis,
 * each on a fresh store. Needs /usr/bin/redis-server (started on a free port, no persistence).
 *
 *   npm run bench:queue [-- --only local|1|2]
 *
 * On a 2-core machine expect about the same time with two workers as with one: each engine already uses the cores.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startApp } from '../src/main/app'
import { forkSpawner } from '../src/main/jobs/forkSpawner'
import { createExperimentService } from '../src/main/services/experiments'
import { demoDataDir } from '../src/main/services/demo'
import { ensureDemoProject } from '../src/main/services/projects'
import { generateDemoData } from '../src/main/demo/generate'
import * as runs from '../src/main/store/runs'
import { startRedis, startWorker, type WorkerProcess } from '../tests/main/jobs/queue/helpers'
import { queueSweepSpec } from '../tests/main/jobs/queue/sweepSpec'

const root = resolve(import.meta.dirname, '..')
const resources = join(root, 'resources')
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
const tmp = mkdtempSync(join(tmpdir(), 'daft-bench-queue-'))
const dataRoot = join(tmp, 'data')

async function sweep(label: string, workerCount: number, redisUrl: string | null): Promise<number> {
  const dataDir = join(tmp, label.replace(/\W+/g, '-'))
  const shared = join(tmp, 'shared')
  mkdirSync(shared, { recursive: true })
  const workers: WorkerProcess[] = []
  for (let i = 0; i < workerCount; i++) workers.push(startWorker(redisUrl!, `b${i + 1}`, join(tmp, `${label}-w${i + 1}`)))
  await Promise.all(workers.map((w) => w.waitFor(/^worker \S+ on /m)))
  const app = startApp({
    dataDir,
    mode: 'cli',
    resourcesDir: resources,
    skipDemo: true,
    skipAnalysis: true,
    lazyEngine: true,
    redis: redisUrl ?? '',
    shared,
    spawner: forkSpawner({ entry: join(root, 'src', 'main', 'engine', 'worker.ts') }),
  })
  try {
    const t0 = performance.now()
    const { experimentId } = createExperimentService(app.db, ensureDemoProject(app.db), queueSweepSpec(dataRoot, resources))
    await app.idle()
    const s = (performance.now() - t0) / 1000
    const all = runs.listRuns(app.db, { experimentId })
    const bad = all.filter((r) => r.status !== 'succeeded')
    if (bad.length) throw new Error(`${label}: ${bad.map((r) => `#${r.id} ${r.status} ${r.error ?? ''}`).join('; ')}`)
    console.log(`${label.padEnd(26)} ${s.toFixed(1).padStart(6)} s  (${all.length} runs: ${all.map((r) => `${r.method}/${r.role}${r.worker ? ` on ${r.worker}` : ''}`).join(', ')})`)
    return s
  } finally {
    await app.close()
    await Promise.all(workers.map((w) => w.stop()))
  }
}

const redis = await startRedis()
try {
  await generateDemoData(demoDataDir(dataRoot))
  console.log(`${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const times: Record<string, number> = {}
  if (!only || only === 'local') times.local = await sweep('local runner (no queue)', 0, null)
  if (!only || only === '1') times.one = await sweep('queue, one worker', 1, redis.url)
  if (!only || only === '2') times.two = await sweep('queue, two workers', 2, redis.url)
  if (times.one && times.two) console.log(`two workers vs one: ${(times.one / times.two).toFixed(2)}x`)
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} finally {
  await redis.stop()
  rmSync(tmp, { recursive: true, force: true })
}
