/**
 * Experiments and runs as plain data: what an experiment file (`daft run FILE.yaml`), the New-experiment
 * form and the store all speak. Pure TS: no Node, DOM or tfjs.
 */
import { defaultRecipe, validateRecipe, type MethodName, type Recipe } from './recipes'
import type { NormalizePreset, TransformOp } from './datasets'
import type { RunHealth } from './health'
import { SWEEPS } from './recipes'
import type { HeadLrGrid, HeadLrMode, HeadProbeResult } from './headProbe'

export interface DataSetRef {
  /** folder: ImageFolder root, or a root with train/val/test subfolders */
  root: string
  /** stratified subset: at most this many images (per set), chosen with the run's seed */
  limit?: number
}

export interface ExperimentData {
  /** ID data: a root with train (and optionally val, test) subfolders, or an ImageFolder used as train */
  id: DataSetRef & { limits?: { train?: number; val?: number; test?: number } }
  /** fraction of train held out as ID val when the folder has no val split */
  valFraction: number
  /**
   * seed of the data split: which train images are held out as ID val and which images the `limit`s keep.
   * One per experiment (default 0), the same for every run and seed, so seeds vary the training only.
   * Absent only in specs stored by older versions (they split with each run's seed).
   */
  splitSeed?: number
  /** OOD sets, by display name */
  ood: Record<string, DataSetRef>
  /** explicit class order of the ID head (default: sorted ID folder names) */
  classes?: string[]
  /** working resolution (square), images are resized to it */
  size: number
  normalize: NormalizePreset
  /** train-time augmentation after resizing (evaluation uses the resize only) */
  augment: TransformOp[]
}

export interface ExperimentSpec {
  name: string
  model: { path: string; arch?: string }
  data: ExperimentData
  /** one entry per method to run; each a full recipe (defaults filled from the method) */
  methods: Recipe[]
  seeds: number[]
  /** learning-rate sweeps per method (selected on ID val, then rerun over `seeds`) */
  sweep?: SweepSpec
}

export interface SweepSpec {
  /** method -> learning rates tried for the backbone (eta_theta; FT/LP-FT use it for both groups) */
  lr: Partial<Record<MethodName, number[]>>
  /** DAFT step 1: eta_w while eta_theta is swept (default: the paper's 1.0) */
  daftStep1HeadLr?: number
  /** DAFT step 2: head learning rates (eta_w) tried at the best eta_theta, the step-1 result standing
   *  for daftStep1HeadLr (default: the paper's 10, 3, 0.3, 0.1; [] skips step 2) */
  daftHeadLr?: number[]
  /** 'extended': probe the head rates on the model's features first and, where the paper's values blow
   *  up, use the extended grid (shared/headProbe.ts; a documented deviation). Default 'paper'. */
  daftHeadLrMode?: HeadLrMode
  /** the probe's measurement and the grid it chose, recorded with the experiment */
  headProbe?: { result: HeadProbeResult; grid: HeadLrGrid }
  /** seed used while sweeping */
  sweepSeed: number
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted'

/** Everything the engine needs to run one configuration: self-contained, stored with the run. */
export interface RunSpec {
  model: ExperimentSpec['model']
  data: ExperimentData
  recipe: Recipe
  seed: number
  /** sweep bookkeeping: 'sweep' runs pick hyperparameters, 'final' runs are reported */
  role: 'single' | 'sweep' | 'final'
}

export interface EpochMetrics {
  epoch: number
  trainLoss: number | null
  /** set name ('id-val', 'id-test', OOD names) -> accuracy in [0, 1] */
  acc: Record<string, number>
  lr: { backbone: number; head: number }
  seconds: number
}

export interface RunSummary {
  id: number
  experimentId: number
  experiment: string
  /** the recipe's label, else its method */
  method: string
  baseMethod: string
  /** planned epochs (0 for LP) */
  epochs: number
  /** measured training throughput, once the run has trained */
  imagesPerSec: number | null
  seed: number
  role: RunSpec['role']
  status: RunStatus
  backend: string | null
  bestEpoch: number | null
  /** accuracies at the best epoch */
  final: Record<string, number> | null
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  lr: { backbone: number; head: number }
  /** BN momentum the run's recipe asked for (PyTorch convention, or 'checkpoint') */
  bnMomentum: number | 'checkpoint'
  /** health checks, written when the run ended (null before, and for cancelled runs) */
  health: RunHealth | null
}

const DEFAULT_DATA: Omit<ExperimentData, 'id'> = { valFraction: 0.1, splitSeed: 0, ood: {}, size: 32, normalize: 'imagenet', augment: [] }

/** Methods in a file may be a name or { method, ...overrides }; `lr` may be one number. */
export type MethodEntry = MethodName | (Partial<Omit<Recipe, 'lr'>> & { method: MethodName; lr?: number | Partial<Recipe['lr']> })

export interface ExperimentFile {
  name?: string
  model?: string | { path: string; arch?: string }
  arch?: string
  data?: Partial<Omit<ExperimentData, 'id' | 'ood'>> & { id?: string | ExperimentData['id']; ood?: Record<string, string | DataSetRef> }
  methods?: MethodEntry[] | Partial<Record<MethodName, Omit<Exclude<MethodEntry, MethodName>, 'method'>>>
  /** applied to every method before its own overrides */
  defaults?: Partial<Omit<Recipe, 'method' | 'lr'>>
  epochs?: number
  batchSize?: number
  seeds?: number[] | number
  sweep?: Partial<Omit<SweepSpec, 'daftHeadLr'>> & { daftHeadLr?: number[] | 'extended' | 'paper' }
}

/**
 * Turns a parsed experiment file into a full spec. Relative paths are resolved by the caller
 * (`resolvePath`), so this stays pure. Returns every problem found, one line each.
 */
export function resolveExperiment(file: ExperimentFile, resolvePath: (p: string) => string = (p) => p): { spec?: ExperimentSpec; errors: string[] } {
  const errors: string[] = []
  if (!file || typeof file !== 'object') return { errors: ['experiment file must be a mapping'] }
  const modelRaw = file.model
  let model: ExperimentSpec['model'] | undefined
  if (typeof modelRaw === 'string') model = { path: resolvePath(modelRaw), arch: file.arch }
  else if (modelRaw && typeof modelRaw.path === 'string') model = { path: resolvePath(modelRaw.path), arch: modelRaw.arch ?? file.arch }
  else errors.push('model: required (path to a checkpoint)')

  const d = file.data ?? {}
  let id: ExperimentData['id'] | undefined
  if (typeof d.id === 'string') id = { root: resolvePath(d.id) }
  else if (d.id && typeof d.id.root === 'string') id = { ...d.id, root: resolvePath(d.id.root) }
  else errors.push('data.id: required (folder of the in-distribution images)')
  const ood: Record<string, DataSetRef> = {}
  for (const [name, v] of Object.entries(d.ood ?? {})) {
    if (typeof v === 'string') ood[name] = { root: resolvePath(v) }
    else if (v && typeof v.root === 'string') ood[name] = { ...v, root: resolvePath(v.root) }
    else errors.push(`data.ood.${name}: expected a folder path`)
  }
  const data: ExperimentData = { ...DEFAULT_DATA, ...d, id: id ?? { root: '' }, ood } as ExperimentData
  if (!Number.isInteger(data.splitSeed) || (data.splitSeed as number) < 0) errors.push(`data.splitSeed: a non-negative integer (got ${data.splitSeed})`)
  if (!(data.valFraction > 0 && data.valFraction < 1)) errors.push(`data.valFraction: must be in (0, 1) (got ${data.valFraction})`)
  if (!Number.isInteger(data.size) || data.size < 8 || data.size > 1024) errors.push(`data.size: an integer in [8, 1024] (got ${data.size})`)

  const entries: MethodEntry[] = Array.isArray(file.methods)
    ? file.methods
    : Object.entries(file.methods ?? {}).map(([method, o]) => ({ ...(o ?? {}), method: method as MethodName }))
  if (!entries.length) errors.push('methods: list at least one of LP, FT, LP-FT, DAFT')
  const methods: Recipe[] = []
  for (const e of entries) {
    const entry = typeof e === 'string' ? { method: e } : e
    const known = ['LP', 'FT', 'LP-FT', 'DAFT', 'custom']
    if (!known.includes(entry.method)) {
      errors.push(`methods: unknown method '${entry.method}' (known: ${known.join(', ')})`)
      continue
    }
    const base = defaultRecipe(entry.method)
    const { lr, ...rest } = entry
    const r: Recipe = { ...base, ...(file.defaults ?? {}), ...(file.epochs !== undefined && base.epochs > 0 ? { epochs: file.epochs } : {}), ...(file.batchSize !== undefined ? { batchSize: file.batchSize } : {}), ...rest } as Recipe
    if (typeof lr === 'number') r.lr = { backbone: lr, head: entry.method === 'DAFT' ? base.lr.head : lr }
    else if (lr) r.lr = { ...base.lr, ...lr }
    for (const p of validateRecipe(r)) errors.push(`methods.${entry.method}: ${p}`)
    methods.push(r)
  }
  const seeds = file.seeds === undefined ? [0] : Array.isArray(file.seeds) ? file.seeds : [file.seeds]
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) errors.push('seeds: non-negative integers')
  let sweep: SweepSpec | undefined
  if (file.sweep) {
    const heads = file.sweep.daftHeadLr
    const mode: HeadLrMode = heads === 'extended' ? 'extended' : 'paper'
    if (typeof heads === 'string' && heads !== 'extended' && heads !== 'paper') errors.push(`sweep.daftHeadLr: a list of learning rates, 'paper' or 'extended' (got '${heads}')`)
    const step2 = Array.isArray(heads) ? heads : [...SWEEPS['DAFT-step2']]
    const step1 = file.sweep.daftStep1HeadLr ?? SWEEPS.DAFT_STEP1_HEAD_LR
    for (const v of [...step2, step1]) if (!(typeof v === 'number' && v > 0 && v <= 100)) errors.push(`sweep: head learning rates must be numbers in (0, 100] (got ${String(v)})`)
    for (const [m, grid] of Object.entries(file.sweep.lr ?? {})) {
      if (!Array.isArray(grid) || grid.some((v) => !(typeof v === 'number' && v > 0 && v <= 100))) errors.push(`sweep.lr.${m}: a list of learning rates in (0, 100]`)
    }
    sweep = { lr: file.sweep.lr ?? {}, daftStep1HeadLr: step1, daftHeadLr: step2, daftHeadLrMode: mode, sweepSeed: file.sweep.sweepSeed ?? seeds[0] ?? 0 }
  }
  if (errors.length) return { errors }
  return { spec: { name: file.name ?? 'experiment', model: model!, data, methods, seeds, sweep }, errors }
}

/** True when the experiment sweeps DAFT's learning rates (so its head rates can be probed). */
export function sweepsDaft(spec: ExperimentSpec): boolean {
  return !!spec.sweep && spec.methods.some((m) => m.method === 'DAFT' && m.trainBackbone && (spec.sweep!.lr.DAFT?.length ?? 0) > 0)
}

/**
 * Records a head-rate probe with the experiment; in 'extended' mode its grid replaces the paper's DAFT
 * head rates (step 1's eta_w and step 2's grid) when the paper's blow up. Pure: returns a new spec.
 */
export function applyHeadProbe(spec: ExperimentSpec, result: HeadProbeResult, grid: HeadLrGrid): ExperimentSpec {
  if (!spec.sweep) return spec
  const sweep: SweepSpec = { ...spec.sweep, headProbe: { result, grid } }
  if (spec.sweep.daftHeadLrMode === 'extended' && grid.deviates) {
    sweep.daftStep1HeadLr = grid.step1
    sweep.daftHeadLr = [...grid.step2]
  }
  return { ...spec, sweep }
}
