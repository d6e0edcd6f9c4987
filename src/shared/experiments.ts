/**
 * Experiments and runs as plain data: what an experiment file (`daft run FILE.yaml`), the New-experiment
 * form and the store all speak. Pure TS: no Node, DOM or tfjs.
 */
import { defaultRecipe, SWEEPS, type MethodName, type Recipe } from './recipes'
import type { RunHealth } from './health'
import type { HeadLrGrid, HeadLrMode, HeadProbeResult } from './headProbe'
import { fieldIssues, issueLines, type FieldIssue } from './schemas/issues'
import { ExperimentFileSchema, ExperimentSpecSchema, type ExperimentData, type ExperimentSpec, type SweepSpec } from './schemas/experiment'

// the spec and the file are their schemas' types (src/shared/schemas/experiment.ts)
export type { DataSetRef, ExperimentData, ExperimentFile, ExperimentSpec, MethodEntry, SweepSpec } from './schemas/experiment'
export { ExperimentFileSchema, ExperimentSpecSchema } from './schemas/experiment'

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
  /** the queue worker that trained the run (host/name), null when this machine's own runner did */
  worker?: string | null
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

/**
 * Turns an experiment file (as parsed from YAML / JSON) into a full spec: the file's schema first (shapes and
 * bounds), then each method's defaults, the file's `defaults`, `epochs`, `batchSize` and its own overrides
 * merged, and the result checked by the spec's schema (the recipes' rules between fields). Relative paths are
 * resolved by the caller (`resolvePath`), so this stays pure. Every problem is returned, one `path: message`
 * each, the path as written in the file (`methods[1].lr.backbone`, `methods.FT.epochs`).
 */
export function resolveExperiment(file: unknown, resolvePath: (p: string) => string = (p) => p): { spec?: ExperimentSpec; errors: string[]; issues: FieldIssue[] } {
  const fail = (issues: FieldIssue[]) => ({ errors: issueLines(issues, 'experiment file'), issues })
  const parsed = ExperimentFileSchema.safeParse(file)
  if (!parsed.success) return fail(fieldIssues(parsed.error))
  const f = parsed.data

  const model = typeof f.model === 'string' ? { path: resolvePath(f.model), arch: f.arch } : { path: resolvePath(f.model.path), arch: f.model.arch ?? f.arch }
  const { id: idRaw, ood: oodRaw, ...dataRest } = f.data
  const id = typeof idRaw === 'string' ? { root: resolvePath(idRaw) } : { ...idRaw, root: resolvePath(idRaw.root) }
  const ood: ExperimentData['ood'] = {}
  for (const [name, v] of Object.entries(oodRaw ?? {})) ood[name] = typeof v === 'string' ? { root: resolvePath(v) } : { ...v, root: resolvePath(v.root) }
  const data: ExperimentData = { ...DEFAULT_DATA, ...dataRest, id, ood }

  // each method with the path it has in the file, so the spec's problems point back to it
  const entries: { at: string; method: MethodName; lr?: number | Partial<Recipe['lr']> | undefined; rest: Partial<Recipe> }[] = Array.isArray(f.methods)
    ? f.methods.map((e, i) => {
        const { method, lr, ...rest } = typeof e === 'string' ? { method: e } : e
        return { at: `methods[${i}]`, method, lr, rest }
      })
    : Object.entries(f.methods).map(([method, o]) => {
        const { lr, ...rest } = o ?? {}
        return { at: `methods.${method}`, method: method as MethodName, lr, rest }
      })
  const methods: Recipe[] = entries.map(({ method, lr, rest }) => {
    const base = defaultRecipe(method)
    const r: Recipe = {
      ...base,
      ...f.defaults,
      ...(f.epochs !== undefined && base.epochs > 0 ? { epochs: f.epochs } : {}),
      ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}),
      ...rest,
      method,
    }
    if (typeof lr === 'number') r.lr = { backbone: lr, head: method === 'DAFT' ? base.lr.head : lr }
    else if (lr) r.lr = { ...base.lr, ...lr }
    return r
  })
  const seeds = f.seeds === undefined ? [0] : Array.isArray(f.seeds) ? f.seeds : [f.seeds]
  let sweep: SweepSpec | undefined
  if (f.sweep) {
    const heads = f.sweep.daftHeadLr
    const mode: HeadLrMode = heads === 'extended' || heads === 'paper' ? heads : (f.sweep.daftHeadLrMode ?? 'paper')
    sweep = {
      lr: f.sweep.lr ?? {},
      daftStep1HeadLr: f.sweep.daftStep1HeadLr ?? SWEEPS.DAFT_STEP1_HEAD_LR,
      daftHeadLr: Array.isArray(heads) ? heads : [...SWEEPS['DAFT-step2']],
      daftHeadLrMode: mode,
      sweepSeed: f.sweep.sweepSeed ?? seeds[0] ?? 0,
    }
  }
  const spec = { name: f.name ?? 'experiment', model, data, methods, seeds, ...(sweep ? { sweep } : {}) }
  const checked = ExperimentSpecSchema.safeParse(spec)
  if (checked.success) return { spec: checked.data, errors: [], issues: [] }
  const issues = fieldIssues(checked.error).map((i) => {
    const m = /^methods\[(\d+)\]/.exec(i.path)
    return m ? { ...i, path: entries[Number(m[1])].at + i.path.slice(m[0].length) } : i
  })
  return fail(issues)
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
