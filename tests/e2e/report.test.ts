/**
 * The shareable report opens offline (issue 14, item 4): a small demo experiment (LP, FT, LP-FT, DAFT; 1 epoch,
 * seed 0) trained in serve mode, its report written by `daft report --out` on the same store (and fetched once
 * through the `experiments.report` API op), then opened from disk in Chromium with the network off and every
 * request aborted and counted: nothing but the file itself may be requested. Every chart (svg) has a size, every
 * image decoded (naturalWidth > 0). Screenshot: test-output/e2e/report.png.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunSummary } from '../../src/shared/experiments'
import { demoExperiment } from '../../src/main/services/demo'
import { ROOT } from '../helpers/paths'
import { launchBrowser, SCREENSHOT_DIR, startServedApp, type ServedApp } from './serveApp'

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'daft-report-e2e-')))
const reportFile = path.join(tmp, 'report.html')
let app: ServedApp | undefined
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined
let experimentId: number

async function api<T>(op: string, body: unknown = {}): Promise<T> {
  const r = await app!.call(op, body)
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(r.body.error)}`)
  return r.body.result as T
}

async function until<T>(what: string, f: () => Promise<T | undefined | null | false>, seconds: number): Promise<T> {
  const end = Date.now() + seconds * 1000
  for (;;) {
    const v = await f()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${app?.output().slice(-3000)}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
  app = await startServedApp()
  const [project] = await api<{ id: number }[]>('projects.list')
  // the demo's images are drawn and registered once the engine is up
  await until('the demo datasets', async () => (await api<unknown[]>('datasets.list', { projectId: project.id })).length >= 4, 180)
  const spec = demoExperiment(app.dataDir, path.join(ROOT, 'resources'), { epochs: 1, seeds: [0] })
  ;({ experimentId } = await api<{ experimentId: number }>('experiments.create', { projectId: project.id, spec }))
  const runs = await until(
    'the runs and their analyses',
    async () => {
      const rs = await api<RunSummary[]>('runs.list', { experimentId })
      if (rs.some((r) => r.status === 'failed')) throw new Error(`a run failed: ${JSON.stringify(rs.map((r) => [r.method, r.status, r.error]))}`)
      if (!rs.every((r) => r.status === 'succeeded')) return null
      for (const r of rs) if (!(await api<unknown>('analysis.get', { runId: r.id }))) return null
      return rs
    },
    240,
  )
  expect(runs).toHaveLength(4)
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('the shareable report', () => {
  it('is written by daft report and served by experiments.report', async () => {
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'daft.mjs'), 'report', String(experimentId), '--out', reportFile, '--data-dir', app!.dataDir, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    })
    expect(cli.status, `${cli.stderr}\n${cli.stdout}`).toBe(0)
    const out = JSON.parse(cli.stdout.trim().split('\n').pop()!) as { out: string; bytes: number }
    expect(out.out).toBe(reportFile)
    expect(fs.statSync(reportFile).size).toBe(out.bytes)
    const viaApi = await api<{ html: string; fileName: string }>('experiments.report', { experimentId })
    expect(viaApi.fileName).toMatch(/^daft-report-.*\.html$/)
    // the same document but for the time it was generated
    const strip = (s: string): string => s.replace(/generated [^ ]+ ·/, '')
    expect(strip(viaApi.html)).toBe(strip(fs.readFileSync(reportFile, 'utf8')))
  })

  it('opens offline with no request but the file, every chart and image rendered', async () => {
    browser = await launchBrowser()
    const { context } = browser
    await context.setOffline(true)
    const fileUrl = pathToFileURL(reportFile).href
    // every request is routed: the file itself goes through, anything else is aborted and counted
    const routed: string[] = []
    let fileRouted = 0
    await context.route('**/*', (route) => {
      const url = route.request().url()
      if (url === fileUrl && ++fileRouted) return route.continue()
      routed.push(url)
      return route.abort()
    })
    const page = await context.newPage()
    const requested: string[] = []
    page.on('request', (r) => requested.push(r.url()))
    const failed: string[] = []
    page.on('requestfailed', (r) => failed.push(r.url()))
    await page.goto(fileUrl, { waitUntil: 'load' })
    await page.waitForTimeout(300)
    const others = requested.filter((u) => u !== fileUrl && !u.startsWith('data:'))
    expect(others).toEqual([])
    expect(routed).toEqual([])
    expect(fileRouted).toBe(1) // the interception is live for the file's own scheme too
    expect(failed).toEqual([])

    const charts = await page.$$eval('svg', (els) => els.map((el) => ({ cls: el.getAttribute('class'), w: el.getBoundingClientRect().width, h: el.getBoundingClientRect().height, bars: el.querySelectorAll('rect.bar').length })))
    expect(charts.filter((c) => c.cls === 'chart histogram')).toHaveLength(12) // 4 methods x 3 analysed sets
    expect(charts.filter((c) => c.cls === 'chart bars')).toHaveLength(8) // 4 methods x (start, pretrained)
    for (const c of charts) {
      expect(c.w).toBeGreaterThan(50)
      expect(c.h).toBeGreaterThan(50)
    }
    expect(charts.filter((c) => c.cls === 'chart histogram').every((c) => c.bars > 0)).toBe(true)
    type Img = { complete: boolean; naturalWidth: number; src: string }
    const images = await page.$$eval('img', (els) => els.map((el) => el as unknown as Img).map((el) => ({ ok: el.complete, w: el.naturalWidth, src: el.src.slice(0, 22) })))
    expect(images).toHaveLength(80) // FT and DAFT, 5 classes, 4 lowest + 4 highest
    for (const im of images) {
      expect(im.src).toBe('data:image/png;base64,')
      expect(im.ok).toBe(true)
      expect(im.w).toBeGreaterThan(0)
    }
    for (const m of ['LP', 'FT', 'LP-FT', 'DAFT']) await expect(page.locator('table.comparison td', { hasText: new RegExp(`^${m}`) }).count()).resolves.toBeGreaterThan(0)
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'report.png'), fullPage: true })
  })
})
