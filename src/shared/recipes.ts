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
 */

export type MethodName = 'LP' | 'FT' | 'LP-FT' | 'DAFT' | 'custom'
export type HeadInit = 'random' | 'zero' | 'lp'
/** 'train': BN normalises with batch statistics and updates its running statistics (PyTorch train mode).
 *  'frozen': BN uses its stored running statistics and never updates them (PyTorch eval mode, as in
 *  LP-FT's FT stage); the affine gamma/beta are still trained. */
export type BnMode = 'train' | 'frozen'
/** Where BN conversion takes its target statistics: an eval-mode pass over the method's own augmented
 *  training pipeline (the authors' reference code), or over the un-augmented training images. */
export type BnConversionData = 'augmented' | 'plain'
/** PyTorch's BatchNorm default momentum, and the paper's (its models are PyTorch's) */
export const DEFAULT_BN_MOMENTUM = 0.1

export interface Recipe {
  method: MethodName
  /** convert every BN layer to the target statistics before training (paper Eq. 3-5, Algorithm 1) */
  bnConversion: boolean
  headInit: HeadInit
  bnMode: BnMode
  /**
   * BN running-statistics momentum while training with BN in train mode, PyTorch convention
   * (running = (1 - m) * running + m * batch). A number applies to every BN layer, whatever framework the
   * checkpoint came from (Keras' 0.999 is PyTorch's 0.001, too slow for fine-tuning: the eval-mode network
   * drifts from the trained one); 'checkpoint' keeps each layer's own value.
   */
  bnMomentum: number | 'checkpoint'
  /** target statistics of BN conversion: the augmented training pipeline (default) or un-augmented images */
  bnConversionData: BnConversionData
  /** false only for LP: the backbone stays fixed and only the logistic-regression head is fitted */
  trainBackbone: boolean
  /** SGD learning rates: backbone = eta_theta, head = eta_w (equal for FT and LP-FT) */
  lr: { backbone: number; head: number }
  epochs: number
  batchSize: number
  momentum: number
  weightDecay: number
  schedule: 'cosine'
  /** keep the weights of the epoch with the best ID validation accuracy */
  earlyStopping: boolean
  /** inverse l2 strengths tried by the LP stage (LP, and LP-FT's head init); best on ID val wins */
  lpC: number[]
  /** L-BFGS iteration cap per C of the LP stage */
  lpMaxIter: number
  /** display name (e.g. an ablation's); runs and comparisons group by it, default: the method */
  label?: string
}

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
  bnConversionData: 'augmented' as BnConversionData,
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

/** What each named method fixes (Table 1); a recipe that differs in any of these is 'custom'. */
interface Signature {
  trainBackbone: boolean
  headInit: HeadInit
  bnConversion: boolean
  bnMode?: BnMode
  /** eta_theta = eta_w */
  equalLr?: boolean
}

export const METHOD_SIGNATURES: Record<Exclude<MethodName, 'custom'>, Signature> = {
  LP: { trainBackbone: false, headInit: 'lp', bnConversion: false },
  FT: { trainBackbone: true, headInit: 'random', bnConversion: false, bnMode: 'train', equalLr: true },
  'LP-FT': { trainBackbone: true, headInit: 'lp', bnConversion: false, bnMode: 'frozen', equalLr: true },
  DAFT: { trainBackbone: true, headInit: 'zero', bnConversion: true, bnMode: 'train' },
}

/** Human-readable mismatches between a recipe and a named method's signature (empty = matches). */
function signatureMismatches(r: Recipe, m: Exclude<MethodName, 'custom'>): string[] {
  const s = METHOD_SIGNATURES[m]
  const out: string[] = []
  if (r.trainBackbone !== s.trainBackbone) out.push(`trainBackbone: ${m} uses ${s.trainBackbone} (got ${r.trainBackbone})`)
  if (r.headInit !== s.headInit) out.push(`headInit: ${m} uses '${s.headInit}' (got '${r.headInit}')`)
  if (r.bnConversion !== s.bnConversion) out.push(`bnConversion: ${m} uses ${s.bnConversion} (got ${r.bnConversion})`)
  if (s.bnMode !== undefined && r.bnMode !== s.bnMode) out.push(`bnMode: ${m} uses '${s.bnMode}' (got '${r.bnMode}')`)
  if (s.equalLr && r.lr.backbone !== r.lr.head) {
    out.push(`lr: ${m} uses one learning rate, lr.backbone = lr.head (got ${r.lr.backbone} and ${r.lr.head})`)
  }
  return out
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


const METHODS: readonly MethodName[] = ['LP', 'FT', 'LP-FT', 'DAFT', 'custom']
const HEAD_INITS: readonly HeadInit[] = ['random', 'zero', 'lp']
const BN_MODES: readonly BnMode[] = ['train', 'frozen']
const BN_CONVERSION_DATA: readonly BnConversionData[] = ['augmented', 'plain']

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v))

/**
 * Checks types, bounds and consistency; one message per problem, each starting with the field name.
 * Named methods must match their Table-1 signature (use method 'custom' for ablations).
 */
export function validateRecipe(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [`recipe: must be an object (got ${show(input)})`]
  const r = input as Record<string, unknown>
  const p: string[] = []
  for (const k of Object.keys(r)) if (!(k in RECIPE_FIELD_HELP)) p.push(`${k}: unknown field`)
  if (!METHODS.includes(r.method as MethodName)) p.push(`method: must be one of ${METHODS.join(', ')} (got ${show(r.method)})`)
  for (const k of ['bnConversion', 'trainBackbone', 'earlyStopping'] as const) {
    if (typeof r[k] !== 'boolean') p.push(`${k}: must be true or false (got ${show(r[k])})`)
  }
  if (!HEAD_INITS.includes(r.headInit as HeadInit)) p.push(`headInit: must be one of ${HEAD_INITS.join(', ')} (got ${show(r.headInit)})`)
  if (!BN_MODES.includes(r.bnMode as BnMode)) p.push(`bnMode: must be one of ${BN_MODES.join(', ')} (got ${show(r.bnMode)})`)
  if (r.bnMomentum !== 'checkpoint' && (!isNum(r.bnMomentum) || r.bnMomentum <= 0 || r.bnMomentum > 1)) {
    p.push(`bnMomentum: must be a number in (0, 1] (PyTorch convention) or 'checkpoint' (got ${show(r.bnMomentum)})`)
  }
  if (!BN_CONVERSION_DATA.includes(r.bnConversionData as BnConversionData)) p.push(`bnConversionData: must be one of ${BN_CONVERSION_DATA.join(', ')} (got ${show(r.bnConversionData)})`)
  if (r.schedule !== 'cosine') p.push(`schedule: must be 'cosine' (got ${show(r.schedule)})`)
  const trains = r.trainBackbone !== false
  const lr = r.lr as Record<string, unknown> | undefined
  if (typeof lr !== 'object' || lr === null) p.push(`lr: must be { backbone, head } (got ${show(lr)})`)
  else {
    for (const k of ['backbone', 'head'] as const) {
      const v = lr[k]
      if (!isNum(v) || v < 0 || v > 100) p.push(`lr.${k}: must be a number in [0, 100] (got ${show(v)})`)
      else if (trains && v === 0) p.push(`lr.${k}: must be > 0 when the backbone is trained`)
    }
  }
  if (!isInt(r.epochs) || (r.epochs as number) < 0 || (r.epochs as number) > 10000) p.push(`epochs: must be an integer in [0, 10000] (got ${show(r.epochs)})`)
  else if (trains && r.epochs === 0) p.push('epochs: must be at least 1 when the backbone is trained')
  if (!isInt(r.batchSize) || (r.batchSize as number) < 1 || (r.batchSize as number) > 4096) p.push(`batchSize: must be an integer in [1, 4096] (got ${show(r.batchSize)})`)
  else if (r.bnMode === 'train' && r.batchSize === 1) p.push('batchSize: BN in train mode needs at least 2 images per batch')
  if (!isNum(r.momentum) || r.momentum < 0 || r.momentum >= 1) p.push(`momentum: must be a number in [0, 1) (got ${show(r.momentum)})`)
  if (!isNum(r.weightDecay) || r.weightDecay < 0 || r.weightDecay >= 1) p.push(`weightDecay: must be a number in [0, 1) (got ${show(r.weightDecay)})`)
  if (!Array.isArray(r.lpC) || r.lpC.some((c) => !isNum(c) || c <= 0)) p.push(`lpC: must be a list of positive numbers (got ${show(r.lpC)})`)
  else if (r.headInit === 'lp' && r.lpC.length === 0) p.push('lpC: the LP head needs at least one C')
  if (r.label !== undefined && (typeof r.label !== 'string' || !r.label.trim() || r.label.length > 60)) p.push(`label: must be a short non-empty string (got ${show(r.label)})`)
  if (!isInt(r.lpMaxIter) || (r.lpMaxIter as number) < 1 || (r.lpMaxIter as number) > 100000) p.push(`lpMaxIter: must be an integer in [1, 100000] (got ${show(r.lpMaxIter)})`)
  if (r.trainBackbone === false && HEAD_INITS.includes(r.headInit as HeadInit) && r.headInit !== 'lp') {
    p.push(`headInit: without backbone training only an LP head is fitted (got ${show(r.headInit)})`)
  }
  if (p.length === 0 && r.method !== 'custom') {
    for (const m of signatureMismatches(input as Recipe, r.method as Exclude<MethodName, 'custom'>)) {
      p.push(`${m}; set method to 'custom' for this combination`)
    }
  }
  return p
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
  if (!METHODS.includes(method)) throw new Error(`${source}: method: must be one of ${METHODS.join(', ')} (got ${show(method)})`)
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
