import type { ExperimentSpec, SweepSpec } from '../../../shared/experiments'
import { DataSetRefSchema, ExperimentDataSchema, SweepSpecSchema } from '../../../shared/schemas/experiment'
import { check } from '../../../shared/schemas/issues'
import type { NormalizePresetName, TransformOp } from '../../../shared/datasets'
import type { Recipe } from '../../../shared/recipes'
import type { DatasetSummary, ModelSummary } from '../../../shared/types'

/** The data part of the New-experiment form (dataset ids, not paths: the form picks from the project). */
export interface DataForm {
  idDatasetId: number | null
  oodIds: number[]
  size: number
  normalize: NormalizePresetName
  /** key of TRANSFORM_RECIPES, '' for none */
  augment: string
  /** in (0, 1): held out from train when the ID folder has no val split */
  valFraction: number
  /** at most this many training images (stratified), null for all */
  trainLimit: number | null
  /** at most this many images per evaluation set (ID val, ID test, each OOD set), null for all */
  evalLimit: number | null
}

/** The data form's fields, each checked by the experiment schema's own field (what the server checks again). */
const FIELD_SCHEMAS = {
  size: ExperimentDataSchema.shape.size,
  valFraction: ExperimentDataSchema.shape.valFraction,
  normalize: ExperimentDataSchema.shape.normalize,
  trainLimit: DataSetRefSchema.shape.limit,
  evalLimit: DataSetRefSchema.shape.limit,
} as const
export type DataField = keyof typeof FIELD_SCHEMAS
/** How the form names its fields in the list of problems. */
const FIELD_LABELS: Record<DataField, string> = { size: 'size', valFraction: 'validation share', normalize: 'normalisation', trainLimit: 'train limit', evalLimit: 'eval limit' }

/** Per field of the data form, the schema's messages (empty limits mean "all images" and are not checked). */
export function dataFieldErrors(f: DataForm): Partial<Record<DataField, string[]>> {
  const out: Partial<Record<DataField, string[]>> = {}
  for (const k of Object.keys(FIELD_SCHEMAS) as DataField[]) {
    const v = f[k]
    if (v === null) continue
    const r = check(FIELD_SCHEMAS[k], v)
    if (!r.ok) out[k] = r.issues.map((i) => i.message)
  }
  return out
}

const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0)

/** Training and evaluation images per epoch for the estimate: ID train (after the val hold-out and limit), ID val/test and every OOD set. */
export function imagesPerEpoch(datasets: readonly DatasetSummary[], f: DataForm): { train: number; eval: number } {
  const id = datasets.find((d) => d.id === f.idDatasetId)
  if (!id) return { train: 0, eval: 0 }
  const c = id.counts
  const hasSplits = 'train' in c
  const trainAll = hasSplits ? c.train : total(c)
  const val = 'val' in c ? c.val : Math.round(trainAll * f.valFraction)
  let train = 'val' in c ? trainAll : trainAll - val
  if (f.trainLimit !== null && f.trainLimit > 0) train = Math.min(train, f.trainLimit)
  const cap = (n: number): number => (f.evalLimit !== null && f.evalLimit > 0 ? Math.min(n, f.evalLimit) : n)
  let evalImgs = cap(val) + cap(c.test ?? 0)
  for (const o of datasets.filter((d) => f.oodIds.includes(d.id) && d.id !== id.id)) evalImgs += cap('test' in o.counts ? o.counts.test : total(o.counts))
  return { train, eval: evalImgs }
}

/** The ID data reference with the train / eval limits the form sets (none when unlimited). */
function idRef(root: string, f: DataForm): ExperimentSpec['data']['id'] {
  const limits: { train?: number; val?: number; test?: number } = {}
  if (f.trainLimit) limits.train = f.trainLimit
  if (f.evalLimit) {
    limits.val = f.evalLimit
    limits.test = f.evalLimit
  }
  return Object.keys(limits).length ? { root, limits } : { root }
}

/** Integers >= 0 from "0, 1, 2"; problems as messages. */
export function parseSeeds(text: string): { seeds: number[]; errors: string[] } {
  const toks = text.split(/[\s,;]+/).filter(Boolean)
  const seeds: number[] = []
  const errors: string[] = []
  for (const t of toks) {
    const v = Number(t)
    if (Number.isInteger(v) && v >= 0) seeds.push(v)
    else errors.push(`seeds: '${t}' is not a non-negative integer`)
  }
  if (!toks.length) errors.push('seeds: list at least one seed')
  if (new Set(seeds).size !== seeds.length) errors.push('seeds: each seed once')
  return { seeds, errors }
}

/** How the sweep form names the fields of the sweep schema's issue paths. */
function sweepLabel(path: string): string {
  const grid = /^lr\.([^[]+)/.exec(path)
  if (grid) return `sweep ${grid[1]}`
  if (path.startsWith('daftStep1HeadLr')) return 'sweep DAFT step 1'
  if (path.startsWith('daftHeadLr')) return 'sweep DAFT step 2'
  if (path.startsWith('sweepSeed')) return 'sweep seed'
  return `sweep ${path}`
}

/** Problems of a sweep, one message each: the sweep schema's (what the server and resolveExperiment check), and
 *  the form's own rule that a grid it sends is not empty. */
export function sweepErrors(sweep: SweepSpec | undefined): string[] {
  if (!sweep) return []
  const errors: string[] = []
  const grids = Object.entries(sweep.lr).filter(([, g]) => g !== undefined)
  if (!grids.length) errors.push('sweep: sweep at least one method, or none')
  for (const [m, g] of grids) if (Array.isArray(g) && !g.length) errors.push(`sweep ${m}: learning rates in (0, 100], at least one`)
  const r = check(SweepSpecSchema, sweep)
  if (!r.ok) for (const i of r.issues) errors.push(`${sweepLabel(i.path)}: ${i.message}`)
  return errors
}

/**
 * The ExperimentSpec for `experiments.create`, or the form problems (one message each, prefixed by the field).
 * Recipe problems are not checked here (the recipe editors show them inline); pass `recipeProblems` to block submit.
 */
export function buildExperimentSpec(input: {
  name: string
  model: ModelSummary | null
  datasets: readonly DatasetSummary[]
  data: DataForm
  augmentOps: TransformOp[]
  methods: Recipe[]
  seeds: number[]
  sweep?: SweepSpec
  recipeProblems?: number
}): { spec?: ExperimentSpec; errors: string[] } {
  const errors: string[] = []
  const { data: f } = input
  if (!input.name.trim()) errors.push('name: give the experiment a name')
  if (!input.model) errors.push('model: choose a model (import one in the Models view)')
  const id = input.datasets.find((d) => d.id === f.idDatasetId)
  if (!id) errors.push('ID dataset: choose the in-distribution dataset (import one in the Datasets view)')
  for (const [k, messages] of Object.entries(dataFieldErrors(f))) for (const m of messages) errors.push(`${FIELD_LABELS[k as DataField]}: ${m}`)
  if (!input.methods.length) errors.push('methods: select at least one method')
  const names = input.methods.map((m) => m.label?.trim() || m.method)
  for (const n of new Set(names.filter((n, i) => names.indexOf(n) !== i))) errors.push(`methods: two methods are both called '${n}'; give one a label so Compare can tell them apart`)
  if (!input.seeds.length) errors.push('seeds: list at least one seed')
  errors.push(...sweepErrors(input.sweep))
  if (input.recipeProblems) errors.push(`methods: ${input.recipeProblems} hyperparameter problem(s), shown in red below`)
  const ood: ExperimentSpec['data']['ood'] = {}
  for (const d of input.datasets.filter((x) => f.oodIds.includes(x.id))) {
    if (d.id === f.idDatasetId) continue
    const name = d.name in ood ? `${d.name} #${d.id}` : d.name
    ood[name] = f.evalLimit ? { root: d.root, limit: f.evalLimit } : { root: d.root }
  }
  if (errors.length || !id || !input.model) return { errors }
  const spec: ExperimentSpec = {
    name: input.name.trim(),
    model: { path: input.model.path, arch: input.model.arch },
    data: {
      id: idRef(id.root, f),
      valFraction: f.valFraction,
      // one data split for every run and seed of the experiment
      splitSeed: 0,
      ood,
      size: f.size,
      normalize: f.normalize,
      augment: input.augmentOps,
    },
    methods: input.methods,
    seeds: input.seeds,
    ...(input.sweep ? { sweep: input.sweep } : {}),
  }
  return { spec, errors }
}
