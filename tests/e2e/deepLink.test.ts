/**
 * Views addressable by URL (hash routes, src/renderer/src/lib/routes.ts): a small demo experiment (1 epoch, FT and
 * DAFT of seed 0 kept, the other runs cancelled), then deep links opened in fresh tabs the way a user pastes them,
 * with the serve-mode token in front of the hash (`/?token=...#/galleries/...`): the view and its selection show,
 * an explicit gallery pair and set win over the defaults, a reload keeps the place, and the back button returns to
 * it from another view.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunSummary } from '../../src/shared/experiments'
import { launchBrowser, startServedApp, type ServedApp } from './serveApp'

let app: ServedApp
let browser: Awaited<ReturnType<typeof launchBrowser>>

beforeAll(async () => {
  app = await startServedApp()
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

async function api<T>(op: string, body: unknown = {}): Promise<T> {
  const r = await app.call(op, body)
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(r.body.error)}`)
  return r.body.result as T
}

/** A fresh tab (its own sessionStorage: the token comes from the link) on `/?token=...#<route>`. */
async function open(route: string): Promise<Page> {
  const page = await browser.context.newPage()
  await page.goto(`${app.origin}/?token=${encodeURIComponent(app.token)}#${route}`)
  return page
}
const hashOf = (page: Page): string => decodeURIComponent(new URL(page.url()).hash)
const selectedText = async (page: Page, testid: string): Promise<string> => (await page.getByTestId(testid).locator('option:checked').innerText()).trim()

describe('deep links (serve mode, Chromium)', () => {
  it('opens a gallery pair, a run, a distortion selection and a comparison from their URLs; reload and back keep them', async () => {
    // ---- a small experiment: the demo at 1 epoch, only FT and DAFT of seed 0 left to run
    const { experimentId } = await api<{ experimentId: number; runIds: number[] }>('demo.run', { epochs: 1 })
    let runs = await api<RunSummary[]>('runs.list', { experimentId })
    const ft = runs.find((r) => r.method === 'FT' && r.seed === 0)!
    const daft = runs.find((r) => r.method === 'DAFT' && r.seed === 0)!
    for (const r of runs) if (r.id !== ft.id && r.id !== daft.id && r.status === 'queued') await api('runs.cancel', { runId: r.id })
    await expect
      .poll(
        async () => {
          runs = await api<RunSummary[]>('runs.list', { experimentId })
          const bad = runs.filter((r) => (r.id === ft.id || r.id === daft.id) && (r.status === 'failed' || r.status === 'cancelled'))
          if (bad.length) throw new Error(`runs failed: ${bad.map((r) => `#${r.id} ${r.method}: ${r.error}`).join('; ')}\n${app.output().slice(-3000)}`)
          return runs.filter((r) => (r.id === ft.id || r.id === daft.id) && r.status === 'succeeded').length
        },
        { timeout: 150_000, interval: 1000 },
      )
      .toBe(2)
    await expect.poll(async () => (await Promise.all([ft.id, daft.id].map((id) => api<unknown>('analysis.get', { runId: id })))).every((a) => a !== null), { timeout: 60_000, interval: 1000 }).toBe(true)

    // ---- Galleries: DAFT beside FT on texture (the defaults would be FT beside DAFT on the most shifted set)
    const galleries = `/galleries/${experimentId}?run=${daft.id}&beside=${ft.id}&set=texture`
    const page = await open(galleries)
    const expectGalleryPair = async (): Promise<void> => {
      await expect.poll(() => page.getByTestId('gallery-set').inputValue(), { timeout: 30_000 }).toBe('texture')
      expect(await selectedText(page, 'gallery-run-a')).toBe(`DAFT #${daft.id} (seed 0)`)
      expect(await selectedText(page, 'gallery-run-b')).toBe(`FT #${ft.id} (seed 0)`)
      expect(await page.getByTestId('analysis-experiment').inputValue()).toBe(String(experimentId))
      expect(await page.getByTestId('gallery-why').count()).toBe(0) // no defaults shown
      await page.getByTestId(`gallery-col-${daft.id}`).getByTestId('gallery-lowest').waitFor({ timeout: 60_000 })
      expect(await page.getByTestId('nav-galleries').getAttribute('aria-current')).toBe('page')
    }
    await expectGalleryPair()
    // the token left the address bar, the route stayed
    expect(page.url()).not.toContain('token=')
    expect(hashOf(page)).toBe(`#${galleries}`)
    // a choice in the view goes into the URL (replace), and a reload keeps all of it
    await page.getByTestId('gallery-k').selectOption('2')
    await expect.poll(() => hashOf(page)).toBe(`#${galleries}&k=2`)
    await page.reload()
    await expectGalleryPair()
    expect(await page.getByTestId('gallery-k').inputValue()).toBe('2')
    // another view, then back: the same place
    await page.getByTestId('nav-runs').click()
    await page.getByTestId('run-queue').waitFor()
    expect(hashOf(page)).toMatch(/^#\/runs/)
    await page.goBack()
    await expectGalleryPair()
    expect(hashOf(page)).toBe(`#${galleries}&k=2`)
    await page.close()

    // ---- Runs: one run selected from the URL; selecting another pushes, back returns
    const runsPage = await open(`/runs/${ft.id}`)
    const expectRun = async (p: Page, id: number, method: string): Promise<void> => {
      await expect.poll(() => p.getByTestId(`run-row-${id}`).getAttribute('aria-selected'), { timeout: 30_000 }).toBe('true')
      await expect.poll(() => p.getByTestId('run-detail').locator('h2').innerText(), { timeout: 30_000 }).toContain(`Run #${id} · ${method}`)
    }
    await expectRun(runsPage, ft.id, 'FT')
    expect(runsPage.url()).not.toContain('token=')
    await runsPage.getByTestId(`run-row-${daft.id}`).click()
    await expectRun(runsPage, daft.id, 'DAFT')
    expect(hashOf(runsPage)).toBe(`#/runs/${daft.id}`)
    await runsPage.reload()
    await expectRun(runsPage, daft.id, 'DAFT')
    await runsPage.goBack()
    await expectRun(runsPage, ft.id, 'FT')
    expect(hashOf(runsPage)).toBe(`#/runs/${ft.id}`)
    await runsPage.close()

    // ---- Distortion: the ticked runs from the URL (only DAFT), not the defaults (FT and DAFT)
    const distortion = await open(`/distortion/${experimentId}?runs=${daft.id}`)
    await expect.poll(() => distortion.getByTestId(`analysis-run-${daft.id}`).isChecked(), { timeout: 30_000 }).toBe(true)
    expect(await distortion.getByTestId(`analysis-run-${ft.id}`).isChecked()).toBe(false)
    // ticking FT as well is the default selection again: it leaves the URL
    await distortion.getByTestId(`analysis-run-${ft.id}`).check()
    await expect.poll(() => hashOf(distortion)).toBe(`#/distortion/${experimentId}`)
    await distortion.getByTestId(`analysis-run-${daft.id}`).uncheck()
    await expect.poll(() => hashOf(distortion)).toBe(`#/distortion/${experimentId}?runs=${ft.id}`)
    await distortion.close()

    // ---- Compare: the experiment from the URL; an unknown route lands on Projects
    const compare = await open(`/compare/${experimentId}`)
    await expect.poll(() => compare.getByTestId('compare-experiment').inputValue(), { timeout: 30_000 }).toBe(String(experimentId))
    expect(await compare.getByTestId('nav-compare').getAttribute('aria-current')).toBe('page')
    await compare.goto(`${app.origin}/#/no-such-view`)
    await compare.getByTestId('project-list').waitFor()
    expect(hashOf(compare)).toBe('#/projects')
    await compare.close()
  })
})
