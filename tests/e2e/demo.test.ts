/**
 * The first run of a fresh workbench in serve mode, as a user does it in Chromium: press "Run the demo comparison",
 * wait for LP, FT, LP-FT and DAFT (three seeds each) to finish and be analysed, then read what the demo is for:
 * the pretrained features carry to both OOD styles (LP well above chance), Distortion opens on FT, LP-FT and DAFT,
 * and Galleries opens on FT beside DAFT on the most shifted OOD set, with its images loaded.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ComparisonTable } from '../../src/shared/types'
import type { RunSummary } from '../../src/shared/experiments'
import { launchBrowser, SCREENSHOT_DIR, startServedApp, type ServedApp } from './serveApp'

let app: ServedApp
let browser: Awaited<ReturnType<typeof launchBrowser>>
let page: Page

beforeAll(async () => {
  app = await startServedApp()
  browser = await launchBrowser()
  page = await browser.context.newPage()
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

/** The whole view: the shell scrolls inside <main>, so the window grows to its content for the shot. */
async function shot(name: string): Promise<void> {
  const h = await page.locator('main').evaluate((el) => el.scrollHeight)
  await page.setViewportSize({ width: 1360, height: Math.min(6000, Math.max(860, h + 60)) })
  await page.waitForTimeout(300)
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) })
  await page.setViewportSize({ width: 1360, height: 860 })
}

async function api<T>(op: string, body: unknown = {}): Promise<T> {
  const r = await app.call(op, body)
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(r.body.error)}`)
  return r.body.result as T
}

const selectedText = async (testid: string): Promise<string> => (await page.getByTestId(testid).locator('option:checked').innerText()).trim()
/** an <img> that has loaded: its decoded width (0 while loading or when broken) */
const loadedWidth = (el: unknown): number => { const img = el as { complete: boolean; naturalWidth: number }; return img.complete ? img.naturalWidth : 0 }

describe('the built-in demo on a fresh data folder (serve mode, Chromium)', () => {
  it('runs from the button and shows LP above chance on both OOD sets, FT / LP-FT / DAFT in Distortion, FT beside DAFT in Galleries', async () => {
    await page.goto(app.url)
    await page.getByTestId('project-list').waitFor()
    // the first screen says what to look at in each view, in the user's words
    const guide = page.getByTestId('demo-guide')
    await guide.waitFor()
    for (const v of ['runs', 'compare', 'distortion', 'galleries']) await page.getByTestId(`demo-guide-${v}`).waitFor()
    expect(await guide.innerText()).toMatch(/Galleries[\s\S]*FT beside DAFT/)
    // the demo's images are drawn and registered in the background once the engine is up
    const [project] = await api<{ id: number; builtIn: boolean }[]>('projects.list')
    expect(project.builtIn).toBe(true)
    await expect.poll(async () => (await api<{ name: string }[]>('datasets.list', { projectId: project.id })).length, { timeout: 120_000 }).toBe(4)

    await page.getByTestId('demo-run').click()
    await page.locator('[data-testid^="run-row-"]').first().waitFor({ timeout: 30_000 })
    const experiments = await api<{ id: number; name: string }[]>('experiments.list', { projectId: project.id })
    expect(experiments).toHaveLength(1)
    const experimentId = experiments[0].id

    // 4 methods x 3 seeds, each analysed when it succeeds
    let runs: RunSummary[] = []
    await expect
      .poll(
        async () => {
          runs = await api<RunSummary[]>('runs.list', { experimentId })
          const failed = runs.filter((r) => r.status === 'failed' || r.status === 'cancelled')
          if (failed.length) throw new Error(`demo runs failed: ${failed.map((r) => `#${r.id} ${r.method}: ${r.error}`).join('; ')}\n${app.output().slice(-3000)}`)
          return runs.filter((r) => r.status === 'succeeded').length
        },
        { timeout: 240_000, interval: 1000 },
      )
      .toBe(12)
    expect(runs.map((r) => r.method).sort()).toEqual(['DAFT', 'DAFT', 'DAFT', 'FT', 'FT', 'FT', 'LP', 'LP', 'LP', 'LP-FT', 'LP-FT', 'LP-FT'])
    expect(new Set(runs.map((r) => r.seed))).toEqual(new Set([0, 1, 2]))
    // DAFT trains with two learning rates (Table 1: eta_theta != eta_w)
    for (const r of runs.filter((x) => x.method === 'DAFT')) expect(r.lr.backbone).not.toBe(r.lr.head)
    await expect.poll(async () => (await Promise.all(runs.map((r) => api<unknown>('analysis.get', { runId: r.id })))).every((a) => a !== null), { timeout: 120_000, interval: 1000 }).toBe(true)

    // ---- compare: the pretrained features carry to both shifted styles: LP well above chance (5 classes: 20 %)
    const table = await api<ComparisonTable>('experiments.compare', { experimentId })
    const ood = table.sets.filter((s) => !s.startsWith('id-'))
    expect(ood.sort()).toEqual(['stroke', 'texture'])
    const lp = table.rows.find((r) => r.method === 'LP')!
    for (const s of ood) expect(lp.mean[s], `LP on ${s}`).toBeGreaterThan(0.35)
    await page.getByTestId('nav-compare').click()
    await expect.poll(() => page.getByTestId('compare-table').innerText(), { timeout: 30_000 }).toMatch(/DAFT/)
    const compareText = await page.getByTestId('compare-table').innerText()
    for (const w of ['LP', 'FT', 'LP-FT', 'texture', 'stroke']) expect(compareText).toContain(w)
    // the shareable report is one click away (its content: tests/e2e/report.test.ts)
    expect(await page.getByTestId('compare-report').isEnabled()).toBe(true)
    await shot('demo-compare')

    // ---- distortion: FT, LP-FT and DAFT ticked (one run each), LP left out
    await page.getByTestId('nav-distortion').click()
    const firstOf = (m: string): RunSummary => runs.filter((r) => r.method === m).sort((a, b) => a.seed - b.seed)[0]
    for (const m of ['FT', 'LP-FT', 'DAFT']) await expect.poll(() => page.getByTestId(`analysis-run-${firstOf(m).id}`).isChecked(), { timeout: 30_000 }).toBe(true)
    for (const r of runs.filter((x) => x.method === 'LP')) expect(await page.getByTestId(`analysis-run-${r.id}`).isChecked()).toBe(false)
    const labels = await page.getByTestId('analysis-runs').locator('label').allInnerTexts()
    expect(labels.map((l) => l.trim().split(' ')[0]).filter((m, i, a) => a.indexOf(m) === i)).toEqual(['FT', 'LP-FT', 'DAFT', 'LP'])
    await page.getByTestId('relchange-bars').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('relchange-bars').getAttribute('data-count')).toBe('7')
    expect(await page.getByTestId('similarity-panel').innerText()).toMatch(/FT #\d+[\s\S]*DAFT #\d+/)
    await shot('demo-distortion')

    // ---- galleries: FT beside DAFT (same seed) on the OOD set where LP is least accurate
    await page.getByTestId('nav-galleries').click()
    const mostShifted = ood.reduce((a, b) => (lp.mean[b] < lp.mean[a] ? b : a))
    await expect.poll(() => page.getByTestId('gallery-set').inputValue(), { timeout: 30_000 }).toBe(mostShifted)
    expect(await selectedText('gallery-run-a')).toBe(`FT #${firstOf('FT').id} (seed 0)`)
    expect(await selectedText('gallery-run-b')).toBe(`DAFT #${firstOf('DAFT').id} (seed 0)`)
    expect(await page.getByTestId('gallery-why').innerText()).toContain(`FT beside DAFT on ${mostShifted}`)
    const lowest = page.getByTestId('gallery-lowest')
    await expect.poll(() => lowest.count(), { timeout: 60_000 }).toBe(2)
    for (const col of [lowest.nth(0), lowest.nth(1)]) {
      expect(await col.getAttribute('data-classes')).toBe('5')
      const img = col.locator('img').first()
      await img.waitFor({ timeout: 60_000 })
      await expect.poll(() => img.evaluate(loadedWidth), { timeout: 30_000 }).toBeGreaterThan(0)
    }
    await expect.poll(() => page.getByTestId('gallery-highest').first().locator('img').first().evaluate(loadedWidth), { timeout: 30_000 }).toBeGreaterThan(0)
    await shot('demo-galleries')
  })
})
