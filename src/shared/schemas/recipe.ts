/**
 * The recipe's schema: every field with its type and bounds, and the rules between fields (a trained backbone
 * needs learning rates and epochs, a named method must keep its Table-1 signature). `Recipe` is inferred from
 * it; shared/recipes.ts re-exports the types and keeps the defaults, presets and field help.
 */
import { z } from 'zod'
import { got, shown } from './issues'

export const METHOD_NAMES = ['LP', 'FT', 'LP-FT', 'DAFT', 'custom'] as const
export const HEAD_INITS = ['random', 'zero', 'lp'] as const
/** 'train': BN normalises with batch statistics and updates its running statistics (PyTorch train mode).
 *  'frozen': BN uses its stored running statistics and never updates them (PyTorch eval mode, as in
 *  LP-FT's FT stage); the affine gamma/beta are still trained. */
export const BN_MODES = ['train', 'frozen'] as const
/** Where BN conversion takes its target statistics: an eval-mode pass over the method's own augmented
 *  training pipeline (the authors' reference code), or over the un-augmented training images. */
export const BN_CONVERSION_DATA = ['augmented', 'plain'] as const

export type MethodName = (typeof METHOD_NAMES)[number]
export type HeadInit = (typeof HEAD_INITS)[number]
export type BnMode = (typeof BN_MODES)[number]
export type BnConversionData = (typeof BN_CONVERSION_DATA)[number]

const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, got(`must be one of ${values.join(', ')}`))
export const MethodNameSchema = z.enum(METHOD_NAMES, { error: (iss) => `unknown method ${shown(iss.input)} (known: ${METHOD_NAMES.join(', ')})` })
const bool = z.boolean(got('must be true or false'))
const number = (wanted: string, ok: (v: number) => boolean) => z.number(got(wanted)).refine(ok, got(wanted))
const BN_MOMENTUM = "must be a number in (0, 1] (PyTorch convention) or 'checkpoint'"
const rate = number('must be a number in [0, 100]', (v) => v >= 0 && v <= 100)

/** The fields, each checked alone (the cross-field rules are in RecipeSchema). */
export const RecipeFieldsSchema = z.strictObject(
  {
    method: oneOf(METHOD_NAMES),
    /** convert every BN layer to the target statistics before training (paper Eq. 3-5, Algorithm 1) */
    bnConversion: bool,
    headInit: oneOf(HEAD_INITS),
    bnMode: oneOf(BN_MODES),
    /**
     * BN running-statistics momentum while training with BN in train mode, PyTorch convention
     * (running = (1 - m) * running + m * batch). A number applies to every BN layer, whatever framework the
     * checkpoint came from (Keras' 0.999 is PyTorch's 0.001, too slow for fine-tuning: the eval-mode network
     * drifts from the trained one); 'checkpoint' keeps each layer's own value.
     */
    bnMomentum: z.union([number(BN_MOMENTUM, (v) => v > 0 && v <= 1), z.literal('checkpoint')], got(BN_MOMENTUM)),
    /** target statistics of BN conversion: the augmented training pipeline (default) or un-augmented images */
    bnConversionData: oneOf(BN_CONVERSION_DATA),
    /** false only for LP: the backbone stays fixed and only the logistic-regression head is fitted */
    trainBackbone: bool,
    /** SGD learning rates: backbone = eta_theta, head = eta_w (equal for FT and LP-FT) */
    lr: z.strictObject({ backbone: rate, head: rate }, got('must be { backbone, head }')),
    epochs: number('must be an integer in [0, 10000]', (v) => Number.isInteger(v) && v >= 0 && v <= 10000),
    batchSize: number('must be an integer in [1, 4096]', (v) => Number.isInteger(v) && v >= 1 && v <= 4096),
    momentum: number('must be a number in [0, 1)', (v) => v >= 0 && v < 1),
    weightDecay: number('must be a number in [0, 1)', (v) => v >= 0 && v < 1),
    schedule: z.literal('cosine', got("must be 'cosine'")),
    /** keep the weights of the epoch with the best ID validation accuracy */
    earlyStopping: bool,
    /** inverse l2 strengths tried by the LP stage (LP, and LP-FT's head init); best on ID val wins */
    lpC: z.array(number('must be a positive number', (v) => v > 0), got('must be a list of positive numbers')),
    /** L-BFGS iteration cap per C of the LP stage */
    lpMaxIter: number('must be an integer in [1, 100000]', (v) => Number.isInteger(v) && v >= 1 && v <= 100000),
    /** display name (e.g. an ablation's); runs and comparisons group by it, default: the method */
    label: z.string(got('must be a short non-empty string')).refine((s) => s.trim().length > 0 && s.length <= 60, got('must be a short non-empty string')).optional(),
  },
  got('must be an object'),
)

type RecipeFields = z.output<typeof RecipeFieldsSchema>

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

/** Mismatches between a recipe and a named method's signature (empty = matches), each with its field. */
export function signatureMismatches(r: RecipeFields, m: Exclude<MethodName, 'custom'>): { path: string[]; message: string }[] {
  const s = METHOD_SIGNATURES[m]
  const out: { path: string[]; message: string }[] = []
  if (r.trainBackbone !== s.trainBackbone) out.push({ path: ['trainBackbone'], message: `${m} uses ${s.trainBackbone} (got ${r.trainBackbone})` })
  if (r.headInit !== s.headInit) out.push({ path: ['headInit'], message: `${m} uses '${s.headInit}' (got '${r.headInit}')` })
  if (r.bnConversion !== s.bnConversion) out.push({ path: ['bnConversion'], message: `${m} uses ${s.bnConversion} (got ${r.bnConversion})` })
  if (s.bnMode !== undefined && r.bnMode !== s.bnMode) out.push({ path: ['bnMode'], message: `${m} uses '${s.bnMode}' (got '${r.bnMode}')` })
  if (s.equalLr && r.lr.backbone !== r.lr.head) {
    out.push({ path: ['lr'], message: `${m} uses one learning rate, lr.backbone = lr.head (got ${r.lr.backbone} and ${r.lr.head})` })
  }
  return out
}

/** The text a signature mismatch ends with: the way out. */
export const MAKE_CUSTOM = "set method to 'custom' for this combination"

/**
 * A complete recipe: the fields, then the rules between them. Named methods must match their Table-1 signature
 * (use method 'custom' for ablations); that rule is checked only once every other is met.
 */
export const RecipeSchema = RecipeFieldsSchema.superRefine((r, ctx) => {
  const problems: { path: (string | number)[]; message: string }[] = []
  if (r.trainBackbone) {
    for (const k of ['backbone', 'head'] as const) if (r.lr[k] === 0) problems.push({ path: ['lr', k], message: 'must be > 0 when the backbone is trained' })
    if (r.epochs === 0) problems.push({ path: ['epochs'], message: 'must be at least 1 when the backbone is trained' })
  }
  if (r.bnMode === 'train' && r.batchSize === 1) problems.push({ path: ['batchSize'], message: 'BN in train mode needs at least 2 images per batch' })
  if (r.headInit === 'lp' && r.lpC.length === 0) problems.push({ path: ['lpC'], message: 'the LP head needs at least one C' })
  if (!r.trainBackbone && r.headInit !== 'lp') problems.push({ path: ['headInit'], message: `without backbone training only an LP head is fitted (got '${r.headInit}')` })
  if (problems.length === 0 && r.method !== 'custom') {
    for (const p of signatureMismatches(r, r.method)) problems.push({ path: p.path, message: `${p.message}; ${MAKE_CUSTOM}` })
  }
  for (const p of problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message, input: r })
})

export type Recipe = z.output<typeof RecipeSchema>
