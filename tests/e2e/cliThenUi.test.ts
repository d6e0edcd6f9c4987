/**
 * One catalog, two front doors (issue 14, item 1), as the new user who found it did it: run a small experiment file
 * from the command line (`daft run FILE --data-dir D`: resnet20 on a tiny MNIST-M subset, OOD USPS and a broken
 * copy of a few USPS images with a zero-byte file, a symbolic link loop and an empty class folder; LP and FT, one
 * epoch), then open the same store in serve mode (`--data-dir D`) in Chromium: the galleries, the lightbox and the
 * dataset previews show the CLI run's images, and Datasets and Models list what the file named, with the import
 * report of each dataset (the broken set's skipped entries included). Screenshots in test-output/e2e/cli-*.png.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Page, Response } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunSummary } from '../../src/shared/experiments'
import { CIFAR_RESNET, DIGITS, ROOT } from '../helpers/paths'
import { launchBrowser, SCREENSHOT_DIR, startServedApp, type ServedApp } from './serveApp'

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'daft-cli-then-ui-')))
const dataDir = path.join(tmp, 'store')
const broken = path.join(tmp, 'usps-broken')
const EXPERIMENT = 'cli then ui'
const MODEL = path.join(CIFAR_RESNET, 'resnet20-12fca82f.th')

let app: ServedApp | undefined
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined
let page: Page

beforeAll(() => {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
  // a few real USPS test images per class; 7 left empty, a zero-byte .png in 0, a link loop in 1
  for (const c of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
    fs.mkdirSync(path.join(broken, c), { recursive: true })
    if (c === '7') continue
    const src = path.join(DIGITS, 'usps', 'test', c)
    for (const f of fs.readdirSync(src).sort().slice(0, 3)) fs.copyFileSync(path.join(src, f), path.join(broken, c, f))
  }
  fs.writeFileSync(path.join(broken, '0', 'zero.png'), '')
  fs.symlinkSync('loop.png', path.join(broken, '1', 'loop.png'))
  fs.writeFileSync(
    path.join(tmp, 'digits-small.yaml'),
    [
      `name: ${EXPERIMENT}`,
      `model: ${path.relative(tmp, MODEL)}`,
      'data:',
      `  id: { root: ${path.join(DIGITS, 'mnist_m')}, limits: { train: 64, val: 32, test: 32 } }`,
      '  ood:',
      `    usps: { root: ${path.join(DIGITS, 'usps')}, limit: 32 }`,
      '    usps-broken: usps-broken',
      'epochs: 1',
      'batchSize: 32',
      'methods:',
      '  LP: {}',
      '  FT: { lr: 0.001 }',
      'seeds: [0]',
    ].join('\n'),
  )
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
  fs.rmSync(tmp, { recursive: true, force: true })
})

/** The whole view: the shell scrolls inside <main>, so the window grows to its content for the shot. */
async function shot(name: string): Promise<void> {
  const h = await page.locator('main').evaluate((el) => el.scrollHeight)
  await page.setViewportSize({ width: 1360, height: Math.min(6000, Math.max(860, h + 60)) })
  await page.waitForTimeout(300)
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) })
  await page.setViewportSize({ width: 1360, height: 860 })
}

async function api<T>(op: string, body: unknown = {}): Promise<T> {
  const r = await app!.call(op, body)
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(r.body.error)}`)
  return r.body.result as T
}

/**
 * Every thumbnail under `scope` shows its image (no placeholder still loading, none failed: each holds an <img> that
 * is complete with naturalWidth > 0), and there are at least `min` of them. Returns how many.
 */
async function expectImagesLoaded(scope: ReturnType<Page['locator']>, min: number): Promise<number> {
  const state = (): Promise<{ thumbs: number; loaded: number; failed: number }> =>
    scope.evaluateAll((els) => {
      const thumbs = els.flatMap((el) => [...(el.matches('.thumb') ? [el] : []), ...el.querySelectorAll('.thumb')])
      const loaded = thumbs.filter((t) => {
        const img = t.querySelector('img')
        return !!img && img.complete && img.naturalWidth > 0
      }).length
      return { thumbs: thumbs.length, loaded, failed: thumbs.filter((t) => t.querySelector('[aria-label="image failed to load"]')).length }
    })
  await expect.poll(async () => {
    const s = await state()
    if (s.failed) throw new Error(`${s.failed} of ${s.thumbs} images failed to load`)
    return s.thumbs >= min && s.loaded === s.thumbs
  }, { timeout: 60_000 }).toBe(true)
  return (await state()).loaded
}

describe('an experiment run from the command line, then opened in the app (serve mode, Chromium)', () => {
  it('the app lists its datasets and model and shows the images of its runs', async () => {
    // ---- the command line: the same store the app opens
    const t0 = Date.now()
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'daft.mjs'), 'run', path.join(tmp, 'digits-small.yaml'), '--data-dir', dataDir, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 240_000,
    })
    const cliSeconds = (Date.now() - t0) / 1000
    expect(cli.status, `${cli.stderr}\n${cli.stdout}`).toBe(0)
    const result = JSON.parse(cli.stdout.trim().split('\n').pop()!) as {
      experimentId: number
      projectId: number
      runs: RunSummary[]
      catalog: { datasets: { set: string; status: string; dataset: { id: number; name: string; root: string } }[]; model: { status: string; model: { id: number; name: string } } }
    }
    expect(result.runs.map((r) => `${r.method} ${r.status}`)).toEqual(['LP succeeded', 'FT succeeded'])
    expect(result.catalog.datasets.map((d) => [d.set, d.status, d.dataset.name, d.dataset.root])).toEqual([
      ['id', 'added', 'mnist_m', path.join(DIGITS, 'mnist_m')],
      ['usps', 'added', 'usps', path.join(DIGITS, 'usps')],
      ['usps-broken', 'added', 'usps-broken', broken],
    ])
    expect(result.catalog.model).toMatchObject({ status: 'added', model: { name: 'resnet20-12fca82f.th' } })
    console.log(`daft run: ${cliSeconds.toFixed(1)} s`)

    // ---- the app on the same store
    app = await startServedApp({ args: ['--data-dir', dataDir] })
    browser = await launchBrowser()
    page = await browser.context.newPage()
    const badImages: string[] = []
    page.on('response', (r: Response) => {
      if (r.url().endsWith('/api/op/images.get') && r.status() !== 200) badImages.push(`${r.status()} ${r.url()}`)
    })
    await page.goto(app.url)
    await page.getByTestId('project-list').waitFor()
    // the project the CLI used is the one the app opens on
    const projects = await api<{ id: number; builtIn: boolean; experiments: number }[]>('projects.list')
    expect(projects[0]).toMatchObject({ id: result.projectId, builtIn: true, experiments: 1 })
    for (const r of result.runs) await expect.poll(() => api<unknown>('analysis.get', { runId: r.id }), { timeout: 60_000 }).not.toBeNull()

    // ---- galleries: the CLI run's images load (FT beside LP, every eval set)
    await page.getByTestId('nav-galleries').click()
    await expect.poll(() => page.getByTestId('analysis-experiment').locator('option:checked').innerText().catch(() => ''), { timeout: 30_000 }).toContain(EXPERIMENT)
    const lowest = page.getByTestId('gallery-lowest')
    await lowest.first().locator('img').first().waitFor({ timeout: 60_000 })
    const roots: Record<string, string> = { usps: path.join(DIGITS, 'usps'), 'usps-broken': broken, 'id-test': path.join(DIGITS, 'mnist_m') }
    for (const [set, root] of Object.entries(roots)) {
      await page.getByTestId('gallery-set').selectOption(set)
      // the tiles of this set (each names its file in its title) have replaced the previous set's
      await lowest.first().locator(`[title^="${root}${path.sep}"]`).first().waitFor({ timeout: 60_000 })
      const n = await expectImagesLoaded(page.locator('[data-testid="gallery-lowest"], [data-testid="gallery-highest"]'), 4)
      // every thumbnail shown is one of this set's files (an image's title is its path)
      const paths = await page.locator('[data-testid="gallery-lowest"] .thumb, [data-testid="gallery-highest"] .thumb').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''))
      expect(paths.length).toBeGreaterThanOrEqual(4)
      expect(paths.filter((p) => !p.startsWith(`${root}${path.sep}`))).toEqual([])
      expect(n).toBeGreaterThanOrEqual(4)
      if (set === 'usps') await shot('cli-gallery')
    }
    // the lightbox enlarges one
    await lowest.first().locator('[data-class]').first().locator('button').first().click()
    const lightbox = page.getByTestId('lightbox')
    await expectImagesLoaded(lightbox, 1)
    expect(await lightbox.locator('img').first().evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0)
    expect(await lightbox.locator('.thumb').first().getAttribute('title')).toMatch(new RegExp(`^${path.join(DIGITS, 'mnist_m')}/`))
    await shot('cli-lightbox')
    await page.keyboard.press('Escape')

    // ---- datasets: what the file named, with their import reports and previews
    await page.getByTestId('nav-datasets').click()
    const list = page.getByTestId('dataset-list')
    for (const name of ['mnist_m', 'usps', 'usps-broken']) await expect.poll(() => list.innerText(), { timeout: 30_000 }).toContain(name)
    const brokenEntry = result.catalog.datasets.find((d) => d.set === 'usps-broken')!.dataset
    await page.getByTestId(`dataset-${brokenEntry.id}`).click()
    const report = page.getByTestId('import-report')
    await report.waitFor({ timeout: 30_000 })
    const skipped = await page.getByTestId('skipped-files').innerText()
    expect(skipped).toContain(path.join(broken, '0', 'zero.png'))
    expect(skipped).toContain(path.join(broken, '1', 'loop.png'))
    expect(skipped).toContain(path.join(broken, '7'))
    await expectImagesLoaded(page.getByTestId('dataset-preview'), 9)
    await shot('cli-datasets')
    const idEntry = result.catalog.datasets.find((d) => d.set === 'id')!.dataset
    await page.getByTestId(`dataset-${idEntry.id}`).click()
    await expect.poll(() => page.getByTestId('dataset-detail').innerText(), { timeout: 30_000 }).toContain(path.join(DIGITS, 'mnist_m'))
    await expectImagesLoaded(page.getByTestId('dataset-preview'), 10)

    // ---- models: the checkpoint the file named
    await page.getByTestId('nav-models').click()
    await expect.poll(() => page.getByTestId('model-list').innerText(), { timeout: 30_000 }).toMatch(/resnet20-12fca82f\.th[\s\S]*19 BN/)
    await shot('cli-models')

    // ---- new experiment can reuse them
    await page.getByTestId('nav-new-experiment').click()
    await expect.poll(() => page.getByTestId('exp-model').innerText(), { timeout: 30_000 }).toContain('resnet20-12fca82f.th')
    expect(await page.getByTestId('exp-id-dataset').innerText()).toContain('mnist_m')
    expect(badImages).toEqual([])
  })
})
