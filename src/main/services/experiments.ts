/** Experiments: create (queue runs), list, compare. Sweeps expand into runs here. */
import { ApiError } from '../../shared/api'
import type { ExperimentSpec, RunSpec } from '../../shared/experiments'
import { SWEEPS } from '../../shared/recipes'
import type { RunSummary } from '../../shared/experiments'
import { hasHealthError } from '../../shared/health'
import { extendedHeadGrid, type HeadLrGrid, type HeadProbeResult } from '../../shared/headProbe'
import type { EnginePort } from './ports'
import { join } from 'node:path'
import { compareRuns } from '../../shared/compare'
import type { ComparisonTable } from '../../shared/types'
import type { Db } from '../store/db'
import * as runs from '../store/runs'

/** DAFT sweep step 1's eta_w: the paper fixes 1.0 (or the probe's extended grid chose another). */
export function daftStep1Head(spec: ExperimentSpec): number {
  return spec.sweep?.daftStep1HeadLr ?? SWEEPS.DAFT_STEP1_HEAD_LR
}

/** The runs an experiment starts with: methods x seeds, or, with a sweep, one run per grid point (sweep seed). */
export function planRuns(spec: ExperimentSpec): RunSpec[] {
  const out: RunSpec[] = []
  const base = { model: spec.model, data: spec.data }
  for (const recipe of spec.methods) {
    const grid = spec.sweep?.lr[recipe.method]
    if (grid?.length && recipe.trainBackbone) {
      for (const lr of grid) {
        // DAFT step 1 sweeps eta_theta with eta_w fixed (paper: 1.0); FT and LP-FT use one rate
        const lrs = recipe.method === 'DAFT' ? { backbone: lr, head: daftStep1Head(spec) } : { backbone: lr, head: lr }
        out.push({ ...base, recipe: { ...recipe, lr: lrs }, seed: spec.sweep!.sweepSeed, role: 'sweep' })
      }
    } else {
      for (const seed of spec.seeds) out.push({ ...base, recipe, seed, role: spec.sweep ? 'final' : 'single' })
    }
  }
  return out
}

/** Stores an experiment and queues its runs. The spec passed ExperimentSpecSchema (the `experiments.create`
 *  request, or an experiment file through resolveExperiment); nothing is checked twice here. */
export function createExperimentService(db: Db, projectId: number, spec: ExperimentSpec): { experimentId: number; runIds: number[] } {
  // one data split for every run of the experiment (specs from older clients carry none)
  if (spec.data.splitSeed === undefined) spec = { ...spec, data: { ...spec.data, splitSeed: 0 } }
  return db.transaction(() => {
    const experimentId = runs.createExperiment(db, projectId, spec)
    const runIds = planRuns(spec).map((r) => runs.createRun(db, experimentId, r))
    return { experimentId, runIds }
  })()
}

/** The sweep run that wins a selection: best ID val accuracy among succeeded runs without a health error
 *  (a diverged or blown-up run never wins), earliest id on ties. */
export function bestSweepRun(sweeps: RunSummary[]): RunSummary | undefined {
  const score = (r: RunSummary): number => r.final?.['id-val'] ?? -1
  return sweeps.filter((r) => r.status === 'succeeded' && !hasHealthError(r.health)).sort((a, b) => score(b) - score(a) || a.id - b.id)[0]
}

/**
 * After a sweep's runs have all ended: per method, the grid point with the best ID val accuracy is rerun
 * over the experiment's seeds (role 'final'). DAFT's second step (eta_w over daftHeadLr at the best
 * eta_theta, step 1's result standing for its eta_w) runs before its finals. Runs that failed or diverged
 * lose the selection and never stop the sweep. One immediate transaction, so two processes (the app and
 * the CLI) cannot both create the next runs. Returns the new run ids (empty when nothing was due).
 */
export function advanceSweep(db: Db, experimentId: number): number[] {
  return db.transaction(() => advanceSweepTx(db, experimentId)).immediate()
}

function advanceSweepTx(db: Db, experimentId: number): number[] {
  const exp = runs.getExperiment(db, experimentId)
  if (!exp?.spec.sweep) return []
  const all = runs.listRuns(db, { experimentId })
  const created: number[] = []
  for (const recipe of exp.spec.methods) {
    const mine = all.filter((r) => r.method === (recipe.label ?? recipe.method))
    const sweeps = mine.filter((r) => r.role === 'sweep')
    if (!sweeps.length || mine.some((r) => r.role === 'final')) continue
    if (sweeps.some((r) => r.status === 'queued' || r.status === 'running' || r.status === 'interrupted')) continue
    const best = bestSweepRun(sweeps)
    if (!best) continue
    const heads = exp.spec.sweep.daftHeadLr ?? [...SWEEPS['DAFT-step2']]
    if (recipe.method === 'DAFT' && heads.length) {
      const step1Head = daftStep1Head(exp.spec)
      const step2 = heads.filter((h) => h !== step1Head)
      if (step2.length && !sweeps.some((r) => r.lr.head !== step1Head)) {
        for (const head of step2) {
          const spec: RunSpec = { model: exp.spec.model, data: exp.spec.data, recipe: { ...recipe, lr: { backbone: best.lr.backbone, head } }, seed: exp.spec.sweep.sweepSeed, role: 'sweep' }
          created.push(runs.createRun(db, experimentId, spec))
        }
        continue
      }
    }
    for (const seed of exp.spec.seeds) {
      const spec: RunSpec = { model: exp.spec.model, data: exp.spec.data, recipe: { ...recipe, lr: best.lr }, seed, role: 'final' }
      created.push(runs.createRun(db, experimentId, spec))
    }
  }
  return created
}

export function compareService(db: Db, experimentId: number): ComparisonTable {
  const exp = runs.getExperiment(db, experimentId)
  if (!exp) throw new ApiError('not_found', `experiment ${experimentId} does not exist`)
  return compareRuns(experimentId, exp.name, runs.listRuns(db, { experimentId }))
}

export function listExperiments(db: Db, projectId: number): { id: number; name: string; createdAt: string; runs: number }[] {
  return runs.listExperimentRows(db, projectId)
}

/** DAFT's head-rate probe for a spec (engine work), and the grid it implies. */
export async function probeHeadLrService(engine: EnginePort, dataDir: string, spec: ExperimentSpec, lrs?: number[]): Promise<{ result: HeadProbeResult; grid: HeadLrGrid }> {
  const result = await engine.request('sweep.headProbe', { spec, cacheDir: join(dataDir, 'cache'), ...(lrs ? { lrs } : {}) })
  return { result, grid: extendedHeadGrid(result) }
}
