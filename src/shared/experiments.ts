/**
 * Experiments and runs as plain data: what an experiment file (`daft run FILE.yaml`), the New-experiment
 * form and the store all speak. Pure TS: no Node, DOM or tfjs.
 */
import { defaultRecipe, validateRecipe, type MethodName, type Recipe } from './recipes'
import type { NormalizePreset, TransformOp } from './datasets'

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
  /** DAFT step 2: head learning rates (eta_w) tried at the best eta_theta */
  daftHeadLr?: number[]
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
}

const DEFAULT_DATA: Omit<ExperimentData, 'id'> = { valFraction: 0.1, ood: {}, size: 32, normalize: 'imagenet', augment: [] }

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
  sweep?: Partial<SweepSpec>
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
  if (file.sweep) sweep = { lr: file.sweep.lr ?? {}, daftHeadLr: file.sweep.daftHeadLr, sweepSeed: file.sweep.sweepSeed ?? seeds[0] ?? 0 }
  if (errors.length) return { errors }
  return { spec: { name: file.name ?? 'experiment', model: model!, data, methods, seeds, sweep }, errors }
}
