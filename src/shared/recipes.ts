/**
 * Fine-tuning methods as DATA (paper Table 1) and every ablation as a combination of the same fields.
 * Pure TS (shared by the engine, services, CLI and UI): no Node, DOM or tfjs.
 *
 * | Method | Head init | LR for FT          | BN mode | BN conversion |
 * |--------|-----------|--------------------|---------|---------------|
 * | FT     | random    | eta_theta = eta_w  | train   | no            |
 * | LP-FT  | LP        | eta_theta = eta_w  | test    | no            |
 * | DAFT   | zero      | eta_theta != eta_w | train   | yes           |
 * LP = l2-regularised logistic regression on frozen features (C chosen on ID val accuracy).
 * Training details (paper): SGD, cosine schedule, batch 64, 20 epochs (50 on small sets), early stopping on ID val.
 * The recipe's fields, bounds, rules between fields and Table-1 signatures are its schema (schemas/recipe.ts);
 * this file keeps the defaults, ablations, sweep grids and field help.
 */

import { fieldIssues, issueLines, shown, type FieldIssue } from './schemas/issues'
import { METHOD_NAMES, RecipeSchema, signatureMismatches, type MethodName, type Recipe } from './schemas/recipe'

export type { BnConversionData, BnMode, HeadInit, MethodName, Recipe } from './schemas/recipe'
export { METHOD_NAMES, METHOD_SIGNATURES, RecipeSchema } from './schemas/recipe'

/** PyTorch's BatchNorm default momentum, and the paper's (its models are PyTorch's) */
export const DEFAULT_BN_MOMENTUM = 0.1

/** numpy's logspace(lo, hi, n): n values 10^lo ... 10^hi. */
export function logspace(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [10 ** lo]
  return Array.from({ length: n }, (_, i) => 10 ** (lo + ((hi - lo) * i) / (n - 1)))
}

/** The paper's 1-3 logarithmic grid from `hi` down to `lo` (e.g. 0.3, 0.1, 0.03, ... 1e-4). */
export function logGrid13(hi: number, lo: number): number[] {
  const out: number[] = []
  for (let e = Math.ceil(Math.log10(hi)) + 1; e >= Math.floor(Math.log10(lo)) - 1; e--) {
    for (const m of [3, 1]) {
      const v = Number((m * 10 ** e).toPrecision(12))
      if (v <= hi * (1 + 1e-9) && v >= lo * (1 - 1e-9)) out.push(v)
    }
  }
  return out
}

export const DEFAULT_LP_C: readonly number[] = logspace(-4, 4, 9)

const COMMON = {
  epochs: 20,
  batchSize: 64,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'cosine' as const,
  earlyStopping: true,
  lpMaxIter: 100,
  bnMomentum: DEFAULT_BN_MOMENTUM as Recipe['bnMomentum'],
  bnConversionData: 'augmented' as Recipe['bnConversionData'],
}

/** Default recipe per method. The learning rates are starting points; the sweep presets find the best. */
export function defaultRecipe(method: MethodName): Recipe {
  const lpC = [...DEFAULT_LP_C]
  switch (method) {
    case 'LP':
      return { ...COMMON, method, bnConversion: false, headInit: 'lp', bnMode: 'frozen', trainBackbone: false, lr: { backbone: 0, head: 0 }, epochs: 0, lpC }
    case 'FT':
      return { ...COMMON, method, bnConversion: false, headInit: 'random', bnMode: 'train', trainBackbone: true, lr: { backbone: 0.01, head: 0.01 }, lpC }
    case 'LP-FT':
      return { ...COMMON, method, bnConversion: false, headInit: 'lp', bnMode: 'frozen', trainBackbone: true, lr: { backbone: 1e-4, head: 1e-4 }, lpC }
    case 'DAFT':
      // eta_w: the paper fixes 1.0 while sweeping eta_theta (SWEEPS.DAFT_STEP1_HEAD_LR keeps that); as a
      // single-run default 1.0 diverged in our runs on CIFAR ResNets (loss ~50 within 10 steps), 0.1 did not
      return { ...COMMON, method, bnConversion: true, headInit: 'zero', bnMode: 'train', trainBackbone: true, lr: { backbone: 0.01, head: 0.1 }, lpC }
    case 'custom':
      return { ...COMMON, method, bnConversion: false, headInit: 'random', bnMode: 'train', trainBackbone: true, lr: { backbone: 0.01, head: 0.01 }, lpC }
  }
}

/** Which named method a recipe's fields describe ('custom' when none): lets the UI relabel after an edit. */
export function classifyRecipe(r: Recipe): MethodName {
  for (const m of ['LP', 'FT', 'LP-FT', 'DAFT'] as const) if (signatureMismatches(r, m).length === 0) return m
  return 'custom'
}

/** The paper's ablations (Table 5) and the obvious single-field variants, as recipes. */
export interface RecipePreset {
  id: string
  label: string
  recipe: Recipe
}

function variant(base: MethodName, patch: Partial<Recipe>): Recipe {
  return { ...defaultRecipe(base), ...patch, method: 'custom' }
}

export const ABLATIONS: readonly RecipePreset[] = [
  { id: 'ft+bnconv', label: 'FT + BN conversion', recipe: variant('FT', { bnConversion: true }) },
  { id: 'lpft+bnconv', label: 'LP-FT + BN conversion', recipe: variant('LP-FT', { bnConversion: true }) },
  { id: 'integrated-lpft', label: 'Integrated LP-FT (DAFT without BN conversion)', recipe: variant('DAFT', { bnConversion: false }) },
  { id: 'daft-random-head', label: 'DAFT with a random head', recipe: variant('DAFT', { headInit: 'random' }) },
  { id: 'daft-lp-head', label: 'DAFT with an LP head', recipe: variant('DAFT', { headInit: 'lp' }) },
  { id: 'lpft-bn-train', label: 'LP-FT with BN in train mode', recipe: variant('LP-FT', { bnMode: 'train' }) },
]

/** One line per field, for forms and tooltips. */
export const RECIPE_FIELD_HELP: Record<keyof Recipe, string> = {
  method: 'Named method (LP, FT, LP-FT, DAFT) or custom for any other combination of the fields below.',
  bnConversion: 'Before training, re-express every BatchNorm layer in the target data\'s statistics (DAFT Algorithm 1).',
  headInit: 'How the classifier head starts: random (PyTorch default init), zero, or fitted by logistic regression (LP).',
  bnMode: 'BatchNorm while training: train = batch statistics with running-stat updates; frozen = stored statistics, never updated.',
  bnMomentum: "BatchNorm running-statistics momentum in train mode (PyTorch convention, 0.1 as in the paper); 'checkpoint' keeps the checkpoint's own (Keras models: 0.001, which lets the eval-mode network drift).",
  bnConversionData: 'Images BN conversion measures the target statistics on: the augmented training pipeline (as the authors\' code) or the plain resized images.',
  trainBackbone: 'Train the feature extractor; off means linear probing only (the backbone stays fixed).',
  lr: 'SGD learning rates: backbone = eta_theta for the feature extractor, head = eta_w for the classifier.',
  epochs: 'Passes over the training set; the cosine schedule decays to zero over this many epochs.',
  batchSize: 'Images per SGD step (the paper uses 64).',
  momentum: 'SGD momentum (PyTorch semantics, the paper uses 0.9).',
  weightDecay: 'L2 weight decay added to every gradient (0 in the paper).',
  schedule: 'Learning-rate schedule: cosine annealing per epoch from the base rate to zero, no warm-up.',
  earlyStopping: 'Keep the weights of the epoch with the best ID validation accuracy and report all sets there.',
  lpC: 'Inverse regularisation strengths tried by the logistic-regression probe; the best on ID validation wins.',
  lpMaxIter: 'Maximum L-BFGS iterations per C when fitting the logistic-regression probe.',
  label: 'Optional display name (e.g. an ablation); comparisons group runs by it.',
}

/** Learning-rate sweeps from the paper's Hyperparameter Details (MoCo/CLIP unless noted). */
export const SWEEPS = {
  /** FT: eta in 0.3, 0.1, ..., 3e-4, 1e-4 */
  FT: logGrid13(0.3, 1e-4),
  /** LP-FT (MoCo, CLIP): 1e-4, 3e-5, ..., 1e-6, 3e-7 */
  'LP-FT': logGrid13(1e-4, 3e-7),
  /** LP-FT (SWAV): 0.01, 0.003, ..., 1e-5, 3e-6 */
  'LP-FT-swav': logGrid13(0.01, 3e-6),
  /** DAFT step 1: eta_theta in 0.1, 0.03, ..., 1e-5, 3e-6 with eta_w fixed at 1.0 */
  'DAFT-step1': logGrid13(0.1, 3e-6),
  DAFT_STEP1_HEAD_LR: 1.0,
  /** DAFT step 2: eta_w in {10, 3, 0.3, 0.1} with the best eta_theta of step 1 (1.0 was covered there) */
  'DAFT-step2': [10, 3, 0.3, 0.1],
} as const


/** The problems of a recipe, each with its field (empty = valid): RecipeSchema's issues. */
export function recipeIssues(input: unknown): FieldIssue[] {
  const r = RecipeSchema.safeParse(input)
  return r.success ? [] : fieldIssues(r.error)
}

/**
 * Checks types, bounds and consistency; one message per problem, each starting with the field name.
 * Named methods must match their Table-1 signature (use method 'custom' for ablations).
 */
export function validateRecipe(input: unknown): string[] {
  return issueLines(recipeIssues(input), 'recipe')
}

/**
 * A full recipe from a partial one (e.g. an experiment file): the method's defaults, then the given fields.
 * `lr` may be one number (backbone = head). Throws one Error listing every problem, prefixed with `source` (e.g. the file name).
 */
export function parseRecipe(input: unknown, source = 'recipe'): Recipe {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error(`${source}: recipe must be an object`)
  const raw = input as Record<string, unknown>
  // `lr: 0.01` is shorthand for one learning rate (backbone = head)
  const given = (typeof raw.lr === 'number' ? { ...raw, lr: { backbone: raw.lr, head: raw.lr } } : raw) as Partial<Recipe>
  const method = given.method ?? 'custom'
  if (!METHOD_NAMES.includes(method)) throw new Error(`${source}: method: must be one of ${METHOD_NAMES.join(', ')} (got ${shown(method)})`)
  const base = defaultRecipe(method)
  const merged = { ...base, ...given, lr: { ...base.lr, ...(given.lr ?? {}) } } as Recipe
  const problems = validateRecipe(merged)
  if (problems.length) throw new Error(`${source}: invalid recipe:\n  ${problems.join('\n  ')}`)
  return merged
}

/**
 * A stored recipe from before a field existed gets that field's default (runs saved by older versions
 * stay readable and resumable); fields already present are kept.
 */
export function withRecipeDefaults(r: Recipe): Recipe {
  const base = defaultRecipe(r.method ?? 'custom')
  return { ...r, bnMomentum: r.bnMomentum ?? base.bnMomentum, bnConversionData: r.bnConversionData ?? base.bnConversionData }
}
