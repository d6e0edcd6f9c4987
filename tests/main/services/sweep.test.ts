import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../../src/main/store/db'
import * as runs from '../../../src/main/store/runs'
import { advanceSweep, createExperimentService, planRuns } from '../../../src/main/services/experiments'
import { ensureDemoProject } from '../../../src/main/services/projects'
import { startApp } from '../../../src/main/app'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import { defaultRecipe } from '../../../src/shared/recipes'
import type { ExperimentSpec } from '../../../src/shared/experiments'
import type { RunHealth } from '../../../src/shared/health'
import { CIFAR_RESNET, DIGITS, ROOT } from '../../helpers/paths'

const dirs: string[] = []
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'daft-sweep-'))
  dirs.push(d)
  return d
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const baseSpec = (methods: ExperimentSpec['methods'], sweep: ExperimentSpec['sweep'], seeds = [0, 1]): ExperimentSpec => ({
  name: 'sweep',
  model: { path: join(CIFAR_RESNET, 'resnet20-12fca82f.th') },
  data: { id: { root: join(DIGITS, 'mnist_m'), limits: { train: 200, val: 100, test: 100 } }, valFraction: 0.1, ood: { usps: { root: join(DIGITS, 'usps'), limit: 100 } }, size: 32, normalize: 'imagenet', augment: [] },
  methods,
  seeds,
  sweep,
})

describe('sweep planning and selection (real store, results written as a run would)', () => {
  const blowup: RunHealth = { ok: false, warnings: [{ code: 'loss-blowup' as const, severity: 'error' as const, message: 'm', cause: 'c', knob: 'k' }] }
  const mild: RunHealth = { ok: false, warnings: [{ code: 'worse-than-start' as const, severity: 'warning' as const, message: 'm', cause: 'c', knob: 'k' }] }

  it("DAFT's two-step sweep as the paper: eta_theta at eta_w = 1.0, then eta_w over {10, 3, 0.3, 0.1} at the best eta_theta, then finals", () => {
    const db = openStore(tmp())
    // the recipe's own head rate (the single-run default 0.1) is NOT what step 1 runs: the paper fixes 1.0
    const daft = { ...defaultRecipe('DAFT'), epochs: 1 }
    expect(daft.lr.head).toBe(0.1)
    const spec = baseSpec([daft], { lr: { DAFT: [0.1, 0.01, 0.001] }, sweepSeed: 0 })
    expect(planRuns(spec).map((r) => [r.role, r.recipe.lr.backbone, r.recipe.lr.head])).toEqual([
      ['sweep', 0.1, 1],
      ['sweep', 0.01, 1],
      ['sweep', 0.001, 1],
    ])
    const { experimentId, runIds } = createExperimentService(db, ensureDemoProject(db), spec)
    const finish = (id: number, val: number, health: RunHealth | null = null): void => {
      runs.finishRun(db, id, 'succeeded', { bestEpoch: 0, final: { 'id-val': val, 'id-test': val }, health })
    }
    finish(runIds[0], 0.95, blowup) // the best ID val, but its loss blew up: it loses the selection
    expect(advanceSweep(db, experimentId)).toEqual([]) // step 1 still running
    finish(runIds[1], 0.8, mild) // a warning alone does not disqualify
    runs.finishRun(db, runIds[2], 'failed', { error: 'diverged: the loss became NaN', health: { ok: false, warnings: [{ ...blowup.warnings[0], code: 'diverged' }] } })
    const step2 = advanceSweep(db, experimentId)
    const list = () => runs.listRuns(db, { experimentId })
    expect(list().filter((r) => step2.includes(r.id)).map((r) => [r.role, r.lr.backbone, r.lr.head])).toEqual([
      ['sweep', 0.01, 10],
      ['sweep', 0.01, 3],
      ['sweep', 0.01, 0.3],
      ['sweep', 0.01, 0.1],
    ])
    finish(step2[0], 0.7)
    finish(step2[1], 0.9)
    finish(step2[2], 0.85)
    runs.finishRun(db, step2[3], 'failed', { error: 'diverged' })
    const finals = advanceSweep(db, experimentId)
    expect(list().filter((r) => finals.includes(r.id)).map((r) => [r.role, r.seed, r.lr.backbone, r.lr.head])).toEqual([
      ['final', 0, 0.01, 3],
      ['final', 1, 0.01, 3],
    ])
    expect(advanceSweep(db, experimentId)).toEqual([])
    db.close()
  })

  it('the step-1 result stands for its eta_w in step 2; an extended grid (probe) replaces both', () => {
    const db = openStore(tmp())
    const daft = { ...defaultRecipe('DAFT'), epochs: 1 }
    const spec = baseSpec([daft], { lr: { DAFT: [0.01] }, daftStep1HeadLr: 0.3, daftHeadLr: [0.3, 0.1, 0.03], sweepSeed: 0 })
    expect(planRuns(spec).map((r) => r.recipe.lr)).toEqual([{ backbone: 0.01, head: 0.3 }])
    const { experimentId, runIds } = createExperimentService(db, ensureDemoProject(db), spec)
    runs.finishRun(db, runIds[0], 'succeeded', { bestEpoch: 0, final: { 'id-val': 0.9 } })
    const step2 = advanceSweep(db, experimentId)
    expect(runs.listRuns(db, { experimentId }).filter((r) => step2.includes(r.id)).map((r) => r.lr.head)).toEqual([0.1, 0.03])
    for (const id of step2) runs.finishRun(db, id, 'succeeded', { bestEpoch: 0, final: { 'id-val': 0.5 } })
    const finals = advanceSweep(db, experimentId)
    expect(runs.listRuns(db, { experimentId }).filter((r) => finals.includes(r.id)).map((r) => r.lr)).toEqual([
      { backbone: 0.01, head: 0.3 },
      { backbone: 0.01, head: 0.3 },
    ])
    db.close()
  })

  it('a sweep whose every run failed creates no finals and does not throw', () => {
    const db = openStore(tmp())
    const spec = baseSpec([{ ...defaultRecipe('FT'), epochs: 1 }], { lr: { FT: [0.3, 0.1] }, sweepSeed: 0 })
    const { experimentId, runIds } = createExperimentService(db, ensureDemoProject(db), spec)
    for (const id of runIds) runs.finishRun(db, id, 'failed', { error: 'diverged' })
    expect(advanceSweep(db, experimentId)).toEqual([])
    db.close()
  })
})

describe('a real sweep: 2 learning rates x 2 seeds on a digits subset', () => {
  it('selects on ID val, reruns the best over the seeds and reports mean ± std', async () => {
    const dataDir = tmp()
    const app = startApp({ dataDir, mode: 'cli', resourcesDir: join(ROOT, 'resources'), skipDemo: true, skipAnalysis: true, spawner: forkSpawner({ entry: join(ROOT, 'src', 'main', 'engine', 'worker.ts') }) })
    try {
      await app.engineReady
      const ft = { ...defaultRecipe('FT'), epochs: 1, earlyStopping: false }
      const { experimentId } = await app.services['experiments.create']({ projectId: 1, spec: baseSpec([ft], { lr: { FT: [0.01, 0.001] }, sweepSeed: 0 }) })
      // idle() kicks the queue itself: no pause before it
      await app.idle()
      const all = await app.services['runs.list']({ experimentId })
      expect(all.map((r) => [r.role, r.seed, r.status])).toEqual([
        ['sweep', 0, 'succeeded'],
        ['sweep', 0, 'succeeded'],
        ['final', 0, 'succeeded'],
        ['final', 1, 'succeeded'],
      ])
      const sweeps = all.slice(0, 2)
      const best = sweeps[0].final!['id-val'] >= sweeps[1].final!['id-val'] ? sweeps[0] : sweeps[1]
      expect(all[2].lr).toEqual(best.lr)
      const table = await app.services['experiments.compare']({ experimentId })
      expect(table.rows).toHaveLength(1)
      expect(table.rows[0].runs).toBe(2) // the finals only
      expect(table.rows[0].seeds).toEqual([0, 1])
      const vals = [all[2].final!['usps'], all[3].final!['usps']]
      const m = (vals[0] + vals[1]) / 2
      expect(table.rows[0].mean.usps).toBeCloseTo(m, 12)
      expect(table.rows[0].std.usps).toBeCloseTo(Math.abs(vals[0] - vals[1]) / Math.SQRT2, 12)
    } finally {
      await app.close()
    }
  })
})
