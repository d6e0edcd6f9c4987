/**
 * The workbench end to end in serve mode, driven like a user in Chromium on real data: import MNIST-M (ID) and
 * USPS (OOD) and the CIFAR resnet20 checkpoint, fine-tune with DAFT for one epoch on a 1000-image subset, watch the
 * loss curve grow, then read the comparison, the relative-change chart (one bar per BN layer) and the galleries.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CIFAR_RESNET, DIGITS } from '../helpers/paths'
import { launchBrowser, SCREENSHOT_DIR, startServedApp, type ServedApp } from './serveApp'

let app: ServedApp
let browser: Awaited<ReturnType<typeof launchBrowser>>
let page: Page
const EXPERIMENT = 'e2e digits DAFT'

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

/** Picks the option of a <select> whose text contains `text` (labels carry counts and ids the test does not know). */
async function chooseOption(testid: string, text: string): Promise<void> {
  const option = page.getByTestId(testid).locator('option', { hasText: text }).first()
  await option.waitFor({ state: 'attached' })
  await page.getByTestId(testid).selectOption({ label: (await option.innerText()).trim() })
}

async function importDataset(root: string, name: string): Promise<void> {
  await page.getByTestId('dataset-import-open').click()
  await page.getByTestId('dataset-root').fill(root)
  await page.getByTestId('dataset-name').fill(name)
  await page.getByRole('dialog').getByRole('button', { name: 'Import', exact: true }).click()
  await expect.poll(() => page.getByTestId('dataset-list').innerText().catch(() => ''), { timeout: 180_000 }).toContain(name)
  await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
}

describe('workbench on real data (serve mode, Chromium)', () => {
  it('imports data and a checkpoint, fine-tunes with DAFT and shows the analysis', async () => {
    await page.goto(app.url)
    await page.getByTestId('project-list').waitFor()
    await expect.poll(() => page.getByTestId('backend').innerText(), { timeout: 120_000 }).toBe('Backend: wasm')
    await shot('projects')

    // ---- datasets
    await page.getByTestId('nav-datasets').click()
    await importDataset(join(DIGITS, 'mnist_m'), 'mnist_m')
    await importDataset(join(DIGITS, 'usps'), 'usps')
    await shot('datasets')

    // ---- model
    await page.getByTestId('nav-models').click()
    await page.getByTestId('model-import-open').click()
    await page.getByTestId('model-path').fill(join(CIFAR_RESNET, 'resnet20-12fca82f.th'))
    await page.getByRole('dialog').getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(() => page.getByTestId('model-list').innerText().catch(() => ''), { timeout: 120_000 }).toMatch(/resnet20[\s\S]*19 BN/)
    await shot('models')

    // ---- new experiment: DAFT only, 1 epoch, 1000 training images (long enough to watch it train), 100 per eval set
    await page.getByTestId('nav-new-experiment').click()
    await page.getByTestId('exp-name').fill(EXPERIMENT)
    await chooseOption('exp-model', 'resnet20')
    await chooseOption('exp-id-dataset', 'mnist_m')
    await page.getByTestId('experiment-data').getByLabel('usps', { exact: true }).check()
    await page.getByTestId('exp-train-limit').fill('1000')
    await page.getByTestId('exp-eval-limit').fill('100')
    await page.getByTestId('method-FT').uncheck()
    await page.getByTestId('method-LP-FT').uncheck()
    await page.getByTestId('method-DAFT').check()
    await page.locator('details.method summary').filter({ hasText: 'DAFT' }).click()
    await page.getByTestId('recipe-DAFT-epochs').fill('1')
    await page.getByTestId('recipe-DAFT-batchSize').fill('8')
    await page.getByTestId('exp-seeds').fill('0')
    await expect.poll(() => page.getByTestId('run-count').innerText()).toBe('1')
    expect(await page.getByTestId('exp-errors').count()).toBe(0)
    await shot('new-experiment')
    await page.getByTestId('exp-submit').click()
    await page.getByRole('button', { name: 'Watch them in Runs' }).click()

    // ---- runs: the loss curve gains points while the run trains
    const row = page.locator('[data-testid^="run-row-"]').first()
    await row.waitFor()
    const runId = Number((await row.getAttribute('data-testid'))!.replace('run-row-', ''))
    await row.click()
    const status = page.getByTestId(`run-status-${runId}`)
    const seen = new Set<number>()
    const deadline = Date.now() + 300_000
    let last = ''
    let shotTaken = false
    while (Date.now() < deadline) {
      last = (await status.innerText()).trim()
      if (last === 'succeeded' || last === 'failed' || last === 'cancelled') break
      const chart = page.getByTestId('loss-chart')
      const pts = (await chart.count()) ? Number(await chart.getAttribute('data-points')) : 0
      if (last === 'running' && pts > 0) {
        seen.add(pts)
        // the screenshot only once progress has been seen twice: taking it takes long enough for a short run to end
        if (seen.size >= 2 && !shotTaken) {
          await shot('runs-live')
          shotTaken = true
        }
      }
      await page.waitForTimeout(100)
    }
    if (last !== 'succeeded') throw new Error(`run ${runId} ended ${last}: ${await page.getByTestId('run-detail').innerText()}\n${app.output().slice(-3000)}`)
    // several distinct, growing point counts observed while the run was running
    expect(seen.size).toBeGreaterThanOrEqual(2)
    await expect.poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(Math.max(...seen))
    await shot('runs')

    // ---- compare: the table lists the run's method
    await page.getByTestId('nav-compare').click()
    await chooseOption('compare-experiment', EXPERIMENT)
    await expect.poll(() => page.getByTestId('compare-table').innerText(), { timeout: 30_000 }).toContain('DAFT')
    expect(await page.getByTestId('compare-table').innerText()).toContain('usps')
    await shot('compare')

    // ---- distortion: one bar per BN layer of resnet20 (the analysis is computed when the run succeeds)
    await page.getByTestId('nav-distortion').click()
    await chooseOption('analysis-experiment', EXPERIMENT)
    await expect.poll(() => page.getByTestId(`analysis-run-${runId}`).isChecked()).toBe(true)
    const bars = page.getByTestId('relchange-bars')
    await bars.waitFor({ timeout: 240_000 })
    expect(await bars.getAttribute('data-count')).toBe('19')
    expect(await bars.innerText()).toMatch(/^19 BN layers/)
    for (const kind of ['gamma', 'beta', 'running_mean', 'running_var']) expect(await page.getByTestId(`relchange-${kind}`).getAttribute('data-bars')).toBe('19')
    await page.getByTestId('relchange-ref-pretrained').check()
    expect(await bars.getAttribute('data-count')).toBe('19')
    expect(await page.getByTestId('similarity-usps').isVisible()).toBe(true)
    expect(await page.getByTestId('similarity-panel').innerText()).toMatch(/μ \d\.\d{3}, σ \d\.\d{3}/)
    expect(await page.getByTestId('converted-check').innerText()).toContain('usps')
    await page.getByTestId('relchange-ref-start').check()
    // corruption robustness on a small subset: CE per corruption and the mCE
    await page.getByTestId('robustness-limit').fill('20')
    await page.getByTestId(`robustness-run-${runId}`).click()
    await page.getByTestId('robustness-table').waitFor({ timeout: 240_000 })
    const robust = await page.getByTestId('robustness-table').innerText()
    expect(robust).toMatch(/clean error/)
    expect(robust.split('\n').length).toBeGreaterThanOrEqual(15 + 3)
    expect(await page.getByTestId('mce-0').innerText()).toMatch(/^\d+\.\d$/)
    await shot('distortion')

    // ---- galleries: per class the k lowest and k highest tiles
    await page.getByTestId('nav-galleries').click()
    await chooseOption('analysis-experiment', EXPERIMENT)
    await expect.poll(() => page.getByTestId('gallery-set').inputValue()).toBe('usps')
    const lowest = page.getByTestId('gallery-lowest')
    const highest = page.getByTestId('gallery-highest')
    await lowest.locator('img').first().waitFor({ timeout: 120_000 })
    await highest.locator('img').first().waitFor()
    expect(await lowest.getAttribute('data-classes')).toBe('10')
    expect(await highest.getAttribute('data-classes')).toBe('10')
    // each rendered class row holds k = 4 image tiles (the grid renders only the rows in view)
    const firstRow = lowest.locator('[data-class]').first()
    await expect.poll(() => firstRow.locator('img').count()).toBe(4)
    await expect.poll(() => highest.locator('[data-class]').first().locator('img').count()).toBe(4)
    await shot('galleries')
    await firstRow.locator('button').first().click()
    await expect.poll(() => page.getByTestId('lightbox').innerText()).toMatch(/prediction before: .+ · after: .+/)
    await shot('gallery-lightbox')
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('lightbox').count()).toBe(0)
  })
})
