/**
 * The shareable report on a real small experiment: the demo (LP, FT, LP-FT, DAFT; 1 epoch, seed 0) trained and
 * analysed through startApp, then `experiments.report` and `daft report --out` (refusing to overwrite without
 * --overwrite): every method, every set, both figures as SVG, the gallery thumbnails embedded as data: URLs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../../../src/main/app'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import { demoExperiment } from '../../../src/main/services/demo'
import { reportCommand } from '../../../src/main/cli/reportCommand'
import { ROOT } from '../../helpers/paths'

const dataDir = mkdtempSync(join(tmpdir(), 'daft-report-'))
const outDir = mkdtempSync(join(tmpdir(), 'daft-report-out-'))
let app: App
let experimentId: number

beforeAll(async () => {
  app = startApp({ dataDir, mode: 'cli', resourcesDir: join(ROOT, 'resources'), spawner: forkSpawner({ entry: join(ROOT, 'src', 'main', 'engine', 'worker.ts') }) })
  await app.demoReady
  const [project] = await app.services['projects.list']({})
  const spec = demoExperiment(dataDir, join(ROOT, 'resources'), { epochs: 1, seeds: [0] })
  ;({ experimentId } = await app.services['experiments.create']({ projectId: project.id, spec }))
  // idle() kicks the queue itself: no pause before it
  await app.idle()
})
afterAll(async () => {
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(outDir, { recursive: true, force: true })
})

describe('experiments.report', () => {
  it('builds one self-contained HTML file with every method, set, figure and the embedded gallery', async () => {
    const runs = await app.services['runs.list']({ experimentId })
    expect(runs.map((r) => [r.method, r.status])).toEqual(['LP', 'FT', 'LP-FT', 'DAFT'].map((m) => [m, 'succeeded']))
    const { html, fileName } = await app.services['experiments.report']({ experimentId })
    expect(fileName).toBe(`daft-report-demo-shapes-colour-shift-${experimentId}.html`)
    for (const m of ['LP', 'FT', 'LP-FT', 'DAFT']) {
      expect(html).toContain(`<td>${m}`) // table row
      expect(html).toContain(`data-method="${m}"`) // Fig. 1
      expect(html).toMatch(new RegExp(`aria-label="${m}"`)) // Fig. 2
    }
    for (const set of ['id-val', 'id-test', 'texture', 'stroke']) expect(html).toContain(`<th>${set}</th>`)
    for (const set of ['id-test', 'texture', 'stroke']) expect(html).toContain(`· ${set} (mean`)
    // Fig. 1: 4 methods x 3 analysed sets; Fig. 2: 4 methods x (from the start, from the checkpoint)
    expect(html.match(/<svg class="chart histogram"/g)).toHaveLength(12)
    expect(html.match(/<svg class="chart bars"/g)).toHaveLength(8)
    // galleries: stroke (LP's worst OOD set), FT beside DAFT, 5 classes x (4 lowest + 4 highest) each
    expect(html).toContain('Set <b>stroke</b>')
    expect(html).toMatch(/<h3>FT \(run #\d+, seed 0\)<\/h3>[\s\S]*<h3>DAFT \(run #\d+, seed 0\)<\/h3>/)
    const imgs = html.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g) ?? []
    expect(imgs).toHaveLength(2 * 5 * 8)
    expect(html).not.toMatch(/https?:\/\//)
    expect(html).toContain('tensor backend: ')
    expect(html).toContain('bnConversion')
    console.log(`report of the demo experiment (1 epoch, seed 0): ${(Buffer.byteLength(html) / 1024).toFixed(0)} KB, ${imgs.length} images`)
  })

  it('daft report --out writes the file, refuses an existing one without --overwrite, leaves no temp file', async () => {
    const out = join(outDir, 'report.html')
    expect(await reportCommand.run([String(experimentId), '--out', out, '--data-dir', dataDir, '--json'])).toBe(0)
    const first = readFileSync(out, 'utf8')
    expect(first.startsWith('<!DOCTYPE html>')).toBe(true)
    writeFileSync(out, 'mine')
    await expect(reportCommand.run([String(experimentId), '--out', out, '--data-dir', dataDir])).rejects.toThrow(/exists; pass --overwrite/)
    expect(readFileSync(out, 'utf8')).toBe('mine')
    expect(await reportCommand.run(['demo: shapes, colour shift', '--out', out, '--overwrite', '--data-dir', dataDir])).toBe(0)
    expect(readFileSync(out, 'utf8')).toMatch(/^<!DOCTYPE html>[\s\S]*<\/html>\n$/)
    expect(readdirSync(outDir)).toEqual(['report.html'])
    await expect(reportCommand.run(['999', '--out', join(outDir, 'x.html'), '--data-dir', dataDir])).rejects.toThrow(/no experiment '999'/)
    expect(existsSync(join(outDir, 'x.html'))).toBe(false)
  })

  it('an unknown experiment is not_found', async () => {
    await expect(app.services['experiments.report']({ experimentId: 12345 })).rejects.toThrow(/does not exist/)
  })
})
