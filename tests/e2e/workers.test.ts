/**
 * The Workers panel of the Runs view, end to end with real parts: Debian's redis-server on a free port, one
 * `daft worker --redis URL` run from source as a user starts it, serve mode on a fresh data folder with `--redis URL`,
 * Chromium. The panel lists the worker (this machine's hostname, its backend and device, the version of
 * package.json, idle, online) under a summary naming the queue and "1 online", and its settings form says the
 * command line sets the queue ("overridden"). A tiny run (FT, 1 epoch, 64 demo images) queued on Redis is trained by
 * the worker and the Runs view's Worker column names it. Then the worker is SIGKILLed: within the panel's polling
 * (every 5 s; liveness is BullMQ's getWorkers(), i.e. Redis's CLIENT LIST) its row turns offline and 0 are online.
 * Screenshot in test-output/e2e/workers.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QueueWorkerInfo } from '../../src/shared/types'
import type { RunSummary } from '../../src/shared/experiments'
import { demoExperiment } from '../../src/main/services/demo'
import { ROOT } from '../helpers/paths'
import { childPids, pidAlive, startRedis, startWorker, type RedisServer, type WorkerProcess } from '../main/jobs/queue/helpers'
import { launchBrowser, SCREENSHOT_DIR, startServedApp, type ServedApp } from './serveApp'

const WORKER = 'e2e-w1'
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const tmp = mkdtempSync(join(tmpdir(), 'daft-e2e-workers-'))

let redis: RedisServer | undefined
let worker: WorkerProcess | undefined
let workerEngines: number[] = []
let app: ServedApp | undefined
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined
let page: Page

async function api<T>(op: string, body: unknown = {}): Promise<T> {
  const r = await app!.call(op, body)
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(r.body.error)}`)
  return r.body.result as T
}

/** The rows of the workers table, as text per cell. */
const rows = (): Promise<string[][]> =>
  page
    .getByTestId('workers-table')
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').replace(/\s+/g, ' ').trim())))
    .catch(() => [])

beforeAll(async () => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  redis = await startRedis()
  // short BullMQ locks, as the queue tests use (a killed worker's job would stall within seconds)
  worker = startWorker(redis.url, WORKER, join(tmp, 'worker'), [], { DAFT_QUEUE_LOCK_MS: '6000' })
  app = await startServedApp({ args: ['--redis', redis.url] })
  await worker.waitFor(new RegExp(`^worker ${WORKER} on .+: \\w+ \\(.+\\), daft \\S+`, 'm'), 120_000)
  workerEngines = childPids(worker.child.pid!)
  browser = await launchBrowser()
  page = await browser.context.newPage()
})

afterAll(async () => {
  // each step on its own: one failing does not leave the others running
  const steps: [string, () => Promise<unknown> | undefined][] = [
    ['browser', () => browser?.close()],
    ['serve', () => app?.stop()],
    ['worker', () => worker?.stop()],
    ['redis', () => redis?.stop()],
  ]
  for (const [what, step] of steps) await Promise.resolve(step()).catch((e: Error) => console.error(`closing ${what}: ${e.message}`))
  // a SIGKILLed worker's engine exits on its own (its IPC channel closes); make sure nothing of ours is left
  for (const pid of workerEngines) if (pidAlive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

describe('the Workers panel with a real queue (Redis, daft worker, serve mode, Chromium)', () => {
  it('lists the worker online with its host, backend, device and version, names it on the run it trained, and shows it offline once killed', async () => {
    const t0 = Date.now()
    const q = redis!.url
    await page.goto(app!.url)
    await page.getByTestId('project-list').waitFor()
    await page.getByTestId('nav-runs').click()
    const panel = page.getByTestId('workers-panel')
    await panel.locator('summary').click()
    const summary = (): Promise<string> => panel.locator('summary').innerText()

    // ---- the worker, online and idle
    await expect.poll(summary, { timeout: 30_000 }).toMatch(new RegExp(`queue ${q.replace(/[.]/g, '\\.')} · 1 online`))
    await expect.poll(rows, { timeout: 30_000 }).toHaveLength(1)
    const [name, host, backend, device, version, training, lastSeen] = (await rows())[0]
    expect(name).toBe(`${WORKER} online`)
    expect(host).toBe(hostname())
    expect(backend).toBe('wasm')
    expect(device).toMatch(/^CPU \(wasm/)
    expect(version).toBe(VERSION)
    expect(training).toBe('idle')
    expect(lastSeen).not.toBe('')
    expect(await panel.locator('tbody tr.off').count()).toBe(0)
    // what the worker printed when it started agrees with the panel
    expect(worker!.output()).toContain(`worker ${WORKER} on ${hostname()}: wasm (${device}), daft ${VERSION}`)

    // ---- the queue settings: the command line's queue is the one in use, the saved settings are empty
    const note = await panel.locator('form.settings small').innerText()
    expect(note).toContain('$DAFT_REDIS or the command line sets the queue now')
    expect(await page.getByTestId('queue-redis').inputValue()).toBe('')
    expect(await page.getByTestId('queue-shared').inputValue()).toBe('')
    const settings = await api<{ active: { redis: string; shared: string } | null; overridden: boolean }>('queue.settings')
    expect(settings).toMatchObject({ active: { redis: q, shared: join(app!.dataDir, 'shared') }, overridden: true })
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'workers.png') })
    console.log(`panel with the worker online: ${((Date.now() - t0) / 1000).toFixed(1)} s`)

    // ---- a tiny run through the queue: the worker trains it, the Worker column names it
    const t1 = Date.now()
    const [project] = await api<{ id: number }[]>('projects.list')
    // the demo's images are drawn and registered in the background at the first start
    await expect.poll(async () => (await api<{ name: string }[]>('datasets.list', { projectId: project.id })).map((d) => d.name).sort(), { timeout: 120_000 })
      .toEqual(expect.arrayContaining(['shapes-color', 'shapes-stroke']))
    await expect.poll(async () => (await api<{ name: string }[]>('models.list', { projectId: project.id })).map((m) => m.name), { timeout: 60_000 }).toContain('demo-resnet8')
    const demo = demoExperiment(app!.dataDir, join(ROOT, 'resources'), { epochs: 1, seeds: [0] })
    const spec = {
      ...demo,
      name: 'e2e workers: one tiny run',
      methods: demo.methods.filter((m) => m.method === 'FT'),
      data: { ...demo.data, id: { ...demo.data.id, limits: { train: 64, val: 32, test: 32 } }, ood: { stroke: { ...demo.data.ood.stroke, limit: 32 } } },
    }
    const { runIds } = await api<{ experimentId: number; runIds: number[] }>('experiments.create', { projectId: project.id, spec })
    expect(runIds).toHaveLength(1)
    const runId = runIds[0]
    await expect
      .poll(async () => {
        const [r] = await api<RunSummary[]>('runs.list', {}).then((all) => all.filter((x) => x.id === runId))
        if (r?.status === 'failed') throw new Error(`run ${runId} failed: ${r.error}\nworker said:\n${worker!.output()}`)
        return r?.status
      }, { timeout: 120_000, interval: 500 })
      .toBe('succeeded')
    await page.getByRole('button', { name: 'Refresh', exact: true }).click()
    await expect.poll(() => page.getByTestId(`run-worker-${runId}`).innerText().catch(() => ''), { timeout: 30_000 }).toBe(WORKER)
    expect(await page.getByTestId(`run-status-${runId}`).innerText()).toBe('succeeded')
    // idle again on the panel
    await expect.poll(async () => (await rows())[0]?.[5], { timeout: 30_000 }).toBe('idle')
    console.log(`a tiny run through the queue: ${((Date.now() - t1) / 1000).toFixed(1)} s`)

    // ---- SIGKILL: the panel shows the worker offline within its polling
    const t2 = Date.now()
    workerEngines = [...new Set([...workerEngines, ...childPids(worker!.child.pid!)])]
    worker!.child.kill('SIGKILL')
    await new Promise((r) => (worker!.child.exitCode !== null || worker!.child.signalCode !== null ? r(null) : worker!.child.once('exit', r)))
    await expect.poll(summary, { timeout: 60_000, interval: 500 }).toMatch(/· 0 online/)
    await expect.poll(async () => (await rows())[0]?.[0], { timeout: 15_000 }).toBe(`${WORKER} offline`)
    expect(await panel.locator('tbody tr.off').count()).toBe(1)
    // the list still has its last announcement (host, version), only not online
    const listed = await api<QueueWorkerInfo[]>('workers.list')
    expect(listed).toEqual([expect.objectContaining({ name: WORKER, host: hostname(), version: VERSION, online: false })])
    console.log(`offline on the panel ${((Date.now() - t2) / 1000).toFixed(1)} s after the SIGKILL; whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'workers-offline.png') })
  })
})
