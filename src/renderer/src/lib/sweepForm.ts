/**
 * The sweep part of the New-experiment form: which learning rates each method tries, labelled with what
 * really runs (services/experiments.ts planRuns / advanceSweep). FT and LP-FT sweep one η (backbone = head);
 * DAFT step 1 sweeps η_θ at a fixed η_w (the paper's 1.0), step 2 sweeps η_w at the best η_θ (the paper's
 * 10, 3, 0.3, 0.1; step 1's result stands for its η_w), then the winner runs with every seed.
 * Pure functions (no Vue, no DOM), unit-tested.
 */
import { SWEEPS, type MethodName } from '../../../shared/recipes'
import type { ExperimentSpec, SweepSpec } from '../../../shared/experiments'
import type { HeadLrGrid, HeadLrMode, HeadProbeResult } from '../../../shared/headProbe'
import { fmtNum, parseNumberList } from './format'

export type Swept = 'FT' | 'LP-FT' | 'DAFT'
export type PaperGridId = 'FT' | 'LP-FT' | 'LP-FT-swav' | 'DAFT-step1'

/** The paper's grids (SWEEPS in shared/recipes.ts) each method can start from. */
export const PAPER_GRIDS: Record<Swept, { id: PaperGridId; short: string; label: string }[]> = {
  FT: [{ id: 'FT', short: 'paper', label: "paper's FT grid: η 0.3 … 1e-4" }],
  'LP-FT': [
    { id: 'LP-FT', short: 'paper, MoCo/CLIP', label: "paper's LP-FT grid (MoCo, CLIP): η 1e-4 … 3e-7" },
    { id: 'LP-FT-swav', short: 'paper, SwAV', label: "paper's LP-FT grid (SwAV): η 0.01 … 3e-6" },
  ],
  DAFT: [{ id: 'DAFT-step1', short: 'paper', label: "paper's DAFT step-1 grid: η_θ 0.1 … 3e-6" }],
}

const list = (xs: readonly number[]): string => xs.map(fmtNum).join(', ')
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** A paper grid as the text of the form's input ("0.3, 0.1, 0.03, …"). */
export function paperGridText(id: PaperGridId): string {
  return list(SWEEPS[id])
}

/** Which of the method's paper grids a list of rates is (null: none, the user's own grid). */
export function paperGridOf(m: Swept, values: readonly number[]): PaperGridId | null {
  return PAPER_GRIDS[m].find((p) => same(SWEEPS[p.id], values))?.id ?? null
}

/** "paper's LP-FT grid (SwAV): η 0.01 … 3e-6", or that the list is the user's own grid. */
export function gridLabel(m: Swept, values: readonly number[]): string {
  const id = paperGridOf(m, values)
  return id ? PAPER_GRIDS[m].find((p) => p.id === id)!.label : "custom grid (not one of the paper's)"
}

/** A head learning rate with the paper's spelling of whole numbers: 1 -> "1.0", 0.3 -> "0.3". */
export function fmtHeadLr(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : fmtNum(x)
}

/** "η_θ grid at η_w = 1.0 (the paper's)": what DAFT step 1 runs. */
export function daftStep1Label(step1HeadLr: number): string {
  return `η_θ grid at η_w = ${fmtHeadLr(step1HeadLr)}${step1HeadLr === SWEEPS.DAFT_STEP1_HEAD_LR ? " (the paper's)" : " (the paper's is 1.0)"}`
}

/** "η_w over {10, 3, 0.3, 0.1} at the best η_θ (the paper's grid)": what DAFT step 2 runs. */
export function daftStep2Label(heads: readonly number[], step1HeadLr: number): string {
  const runs = heads.filter((h) => h !== step1HeadLr)
  if (!runs.length) return `no step 2 (every η_w listed is step 1's ${fmtHeadLr(step1HeadLr)})`
  const covered = runs.length < heads.length ? `; η_w = ${fmtHeadLr(step1HeadLr)} is step 1's result` : ''
  const paper = same(heads, SWEEPS['DAFT-step2']) ? " (the paper's grid)" : ''
  return `η_w over {${list(runs)}} at the best η_θ${paper}${covered}`
}

/** Learning rates of a grid input: numbers in (0, 100], at least one. */
export function parseGrid(text: string, what = 'learning rate'): { values: number[]; errors: string[] } {
  const p = parseNumberList(text)
  if (!p.values.length && !p.errors.length) p.errors.push(`list at least one ${what}`)
  if (p.values.some((v) => !(v > 0) || v > 100)) p.errors.push('learning rates must be in (0, 100]')
  return p
}

export interface SweepForm {
  on: Record<Swept, boolean>
  grid: Record<Swept, string>
  /** run DAFT step 2 */
  step2: boolean
  step2Grid: string
  /** η_w of DAFT step 1 */
  step1HeadLr: number
  /** 'extended': the head-rate probe's grid replaced the paper's (a deviation) */
  mode: HeadLrMode
  seed: number
}

export function defaultSweepForm(seed: number): SweepForm {
  return {
    on: { FT: false, 'LP-FT': false, DAFT: false },
    grid: { FT: paperGridText('FT'), 'LP-FT': paperGridText('LP-FT'), DAFT: paperGridText('DAFT-step1') },
    step2: true,
    step2Grid: list(SWEEPS['DAFT-step2']),
    step1HeadLr: SWEEPS.DAFT_STEP1_HEAD_LR,
    mode: 'paper',
    seed,
  }
}

/** The methods of the experiment that can be swept, in the form's order. */
export function sweptMethods(methods: readonly MethodName[]): Swept[] {
  return (['FT', 'LP-FT', 'DAFT'] as const).filter((m) => methods.includes(m))
}

/** Problems per input of the form (keys: the swept methods and 'step2'); only for sweeps that are on. */
export function sweepFormErrors(f: SweepForm, available: readonly Swept[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const m of available) if (f.on[m]) out[m] = parseGrid(f.grid[m]).errors
  if (available.includes('DAFT') && f.on.DAFT && f.step2) out.step2 = parseGrid(f.step2Grid, 'head learning rate (or untick step 2)').errors
  return out
}

/**
 * The SweepSpec the form describes (undefined when nothing is swept) and its problems, one line each.
 * A sweep with a problem is still built from its valid parts, but the form must not be submitted.
 */
export function buildSweep(
  f: SweepForm,
  available: readonly Swept[],
  defaultSeed: number,
  probe?: { result: HeadProbeResult; grid: HeadLrGrid } | null,
): { sweep?: SweepSpec; errors: string[] } {
  const errs = sweepFormErrors(f, available)
  const errors = Object.entries(errs).flatMap(([k, es]) => es.map((e) => `sweep ${k === 'step2' ? 'DAFT step 2' : k}: ${e}`))
  const seedOk = Number.isInteger(f.seed) && f.seed >= 0
  if (!seedOk) errors.push('sweep seed: a non-negative integer')
  const lr: SweepSpec['lr'] = {}
  for (const m of available) if (f.on[m] && !errs[m].length) lr[m] = parseGrid(f.grid[m]).values
  if (!Object.keys(lr).length) return { errors }
  const sweep: SweepSpec = { lr, sweepSeed: seedOk ? f.seed : defaultSeed }
  if (lr.DAFT) {
    sweep.daftStep1HeadLr = f.step1HeadLr
    // [] skips step 2 (absent would mean the paper's grid)
    sweep.daftHeadLr = f.step2 && !errs.step2?.length ? parseGrid(f.step2Grid).values : []
    sweep.daftHeadLrMode = f.mode
    if (probe) sweep.headProbe = probe
  }
  return { sweep, errors }
}

/** The form with the probe's extended grid: step 1 at grid.step1, step 2 over grid.step2 (a deviation from the paper). */
export function withExtendedGrid(f: SweepForm, grid: HeadLrGrid): SweepForm {
  return { ...f, step1HeadLr: grid.step1, step2: grid.step2.length > 0, step2Grid: list(grid.step2), mode: 'extended' }
}

/** The form back on the paper's head rates (step 1 at 1.0, step 2 over 10, 3, 0.3, 0.1). */
export function withPaperGrid(f: SweepForm): SweepForm {
  return { ...f, step1HeadLr: SWEEPS.DAFT_STEP1_HEAD_LR, step2: true, step2Grid: list(SWEEPS['DAFT-step2']), mode: 'paper' }
}

/** A head-rate probe's answer and the probeKey of the spec it measured. */
export interface ProbeRecord {
  probe: { result: HeadProbeResult; grid: HeadLrGrid }
  key: string
}

/**
 * What the head-rate probe's result depends on (services: the model, the data and its split, the DAFT
 * recipe's batch size and momentum): a probe is stale once this changes. '' without a spec.
 */
export function probeKey(spec: ExperimentSpec | undefined): string {
  if (!spec) return ''
  const r = spec.methods.find((m) => m.method === 'DAFT') ?? spec.methods[0]
  return JSON.stringify({ model: spec.model, data: spec.data, batchSize: r?.batchSize, momentum: r?.momentum })
}
