/**
 * The experiment's schemas: the spec the store, the engine and `experiments.create` speak (ExperimentSpecSchema),
 * and the experiment file `daft run` reads (ExperimentFileSchema: shorthands, method defaults, relative paths).
 * The types are inferred from them; shared/experiments.ts re-exports them and turns a file into a spec.
 */
import { z } from 'zod'
import { NORMALIZE_PRESET_NAMES, type TransformOp } from '../datasets'
import type { HeadLrGrid, HeadLrMode, HeadProbeResult } from '../headProbe'
import { got, intIn, nonNegativeInt, num, positiveInt, text } from './issues'
import { MethodNameSchema, RecipeFieldsSchema, RecipeSchema } from './recipe'

export const NormalizePresetSchema = z.enum(NORMALIZE_PRESET_NAMES, got(`must be one of ${NORMALIZE_PRESET_NAMES.join(', ')}`))

// ---------------------------------------------------------------- transforms (shared/datasets.ts has the types)

const side = num('a positive integer up to 8192', (v) => Number.isInteger(v) && v > 0 && v <= 8192)
const size = z.union([side, z.tuple([side, side])], got('a positive integer or [height, width]'))
const range = (wanted: string, ok: (lo: number, hi: number) => boolean) =>
  z.tuple([z.number(), z.number()], got(wanted)).refine(([lo, hi]) => ok(lo, hi), got(wanted))
const unit = num('a number in [0, 1]', (v) => v >= 0 && v <= 1)
const nonNegative = num('a number >= 0', (v) => v >= 0)

export const TransformOpSchema = z.discriminatedUnion(
  'op',
  [
    z.strictObject({ op: z.literal('resize'), size, interpolation: z.enum(['nearest', 'bilinear', 'bicubic', 'lanczos']).optional() }),
    z.strictObject({ op: z.literal('centerCrop'), size }),
    z.strictObject({
      op: z.literal('randomCrop'),
      size,
      padding: z.union([nonNegativeInt, z.tuple([nonNegativeInt, nonNegativeInt])], got('non-negative integers')).optional(),
      paddingMode: z.enum(['constant', 'edge', 'reflect']).optional(),
      fill: intIn(0, 255).optional(),
    }),
    z.strictObject({
      op: z.literal('randomResizedCrop'),
      size,
      scale: range('scale must satisfy 0 < min <= max <= 1', (lo, hi) => lo > 0 && lo <= hi && hi <= 1).optional(),
      ratio: range('ratio must satisfy 0 < min <= max', (lo, hi) => lo > 0 && lo <= hi).optional(),
    }),
    z.strictObject({ op: z.literal('horizontalFlip'), p: unit.optional() }),
    z.strictObject({
      op: z.literal('colorJitter'),
      brightness: nonNegative.optional(),
      contrast: nonNegative.optional(),
      saturation: nonNegative.optional(),
      hue: num('hue must be in [0, 0.5]', (v) => v >= 0 && v <= 0.5).optional(),
    }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? `unknown transform (ops: resize, centerCrop, randomCrop, randomResizedCrop, horizontalFlip, colorJitter)` : undefined) },
)

// the schema and the documented interfaces of shared/datasets.ts describe the same values
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _transformsAgree: Same<z.output<typeof TransformOpSchema>, TransformOp> = true
void _transformsAgree

// ---------------------------------------------------------------- the spec

const folder = text('a folder path')

export const DataSetRefSchema = z.strictObject({
  /** folder: ImageFolder root, or a root with train/val/test subfolders */
  root: folder,
  /** stratified subset: at most this many images (per set), chosen with the run's seed */
  limit: positiveInt.optional(),
})

const IdRefSchema = DataSetRefSchema.extend({
  limits: z.strictObject({ train: positiveInt.optional(), val: positiveInt.optional(), test: positiveInt.optional() }).optional(),
})

const valFraction = num('must be in (0, 1)', (v) => v > 0 && v < 1)
const workingSize = intIn(8, 1024)

export const ExperimentDataSchema = z.strictObject({
  /** ID data: a root with train (and optionally val, test) subfolders, or an ImageFolder used as train */
  id: IdRefSchema,
  /** fraction of train held out as ID val when the folder has no val split */
  valFraction,
  /**
   * seed of the data split: which train images are held out as ID val and which images the `limit`s keep.
   * One per experiment (default 0), the same for every run and seed, so seeds vary the training only.
   * Absent only in specs stored by older versions (they split with each run's seed).
   */
  splitSeed: nonNegativeInt.optional(),
  /** OOD sets, by display name */
  ood: z.record(z.string(), DataSetRefSchema),
  /** explicit class order of the ID head (default: sorted ID folder names) */
  classes: z.array(z.string()).optional(),
  /** working resolution (square), images are resized to it */
  size: workingSize,
  normalize: NormalizePresetSchema,
  /** train-time augmentation after resizing (evaluation uses the resize only) */
  augment: z.array(TransformOpSchema),
})

/** a learning rate of a sweep grid */
const gridRate = num('a learning rate in (0, 100]', (v) => v > 0 && v <= 100)
const HeadLrModeSchema = z.enum(['paper', 'extended'] satisfies HeadLrMode[], got("'paper' or 'extended'"))

export const SweepSpecSchema = z.strictObject({
  /** method -> learning rates tried for the backbone (eta_theta; FT/LP-FT use it for both groups) */
  lr: z.partialRecord(MethodNameSchema, z.array(gridRate, got('a list of learning rates in (0, 100]'))),
  /** DAFT step 1: eta_w while eta_theta is swept (default: the paper's 1.0) */
  daftStep1HeadLr: gridRate.optional(),
  /** DAFT step 2: head learning rates (eta_w) tried at the best eta_theta, the step-1 result standing
   *  for daftStep1HeadLr (default: the paper's 10, 3, 0.3, 0.1; [] skips step 2) */
  daftHeadLr: z.array(gridRate).optional(),
  /** 'extended': probe the head rates on the model's features first and, where the paper's values blow
   *  up, use the extended grid (shared/headProbe.ts; a documented deviation). Default 'paper'. */
  daftHeadLrMode: HeadLrModeSchema.optional(),
  /** the probe's measurement and the grid it chose, recorded with the experiment (written by the app, not checked) */
  headProbe: z.custom<{ result: HeadProbeResult; grid: HeadLrGrid }>((v) => typeof v === 'object' && v !== null, got('the recorded head-rate probe')).optional(),
  /** seed used while sweeping */
  sweepSeed: nonNegativeInt,
})

export const ModelRefSchema = z.strictObject({ path: text('a checkpoint path'), arch: z.string().optional() })

export const ExperimentSpecSchema = z.strictObject({
  name: text('a name'),
  model: ModelRefSchema,
  data: ExperimentDataSchema,
  /** one entry per method to run; each a full recipe (defaults filled from the method) */
  methods: z.array(RecipeSchema).min(1, 'list at least one of LP, FT, LP-FT, DAFT'),
  seeds: z.array(nonNegativeInt).min(1, 'list at least one seed'),
  /** learning-rate sweeps per method (selected on ID val, then rerun over `seeds`) */
  sweep: SweepSpecSchema.optional(),
})

export type DataSetRef = z.output<typeof DataSetRefSchema>
export type ExperimentData = z.output<typeof ExperimentDataSchema>
export type SweepSpec = z.output<typeof SweepSpecSchema>
export type ExperimentSpec = z.output<typeof ExperimentSpecSchema>

// ---------------------------------------------------------------- the file (`daft run FILE.yaml`)

/** `lr: 0.01` is one learning rate (backbone = head; DAFT's head keeps its default), or { backbone?, head? } */
const LrInputSchema = z.union([RecipeFieldsSchema.shape.lr.shape.backbone, RecipeFieldsSchema.shape.lr.partial()], got('a learning rate or { backbone, head }'))
/** recipe fields that override the method's defaults */
const RecipeOverridesSchema = RecipeFieldsSchema.omit({ method: true, lr: true }).partial()
const MethodOverridesSchema = RecipeOverridesSchema.extend({ lr: LrInputSchema.optional() })
/** a method name, or { method, ...overrides } */
const MethodEntrySchema = z.union([MethodNameSchema, MethodOverridesSchema.extend({ method: MethodNameSchema })], {
  error: (iss) => (typeof iss.input === 'string' ? MethodNameSchema.safeParse(iss.input).error?.issues[0]?.message : "a method name, or { method, ...overrides }"),
})

const orRef = <S extends z.ZodType>(ref: S, wanted: string) => z.union([folder, ref], got(wanted))

export const ExperimentFileSchema = z.strictObject({
  name: text('a name').optional(),
  /** a checkpoint path, or { path, arch } */
  model: z.union([text('a checkpoint path'), ModelRefSchema], { error: (iss) => (iss.input === undefined ? 'required (path to a checkpoint)' : `a checkpoint path or { path, arch } (got ${typeof iss.input})`) }),
  arch: z.string().optional(),
  data: z.strictObject(
    {
      id: z.union([folder, IdRefSchema], {
        error: (iss) => (iss.input === undefined ? 'required (folder of the in-distribution images)' : `a folder path or { root, limit, limits } (got ${typeof iss.input})`),
      }),
      valFraction: valFraction.optional(),
      splitSeed: nonNegativeInt.optional(),
      ood: z.record(z.string(), orRef(DataSetRefSchema, 'a folder path or { root, limit }')).optional(),
      classes: z.array(z.string()).optional(),
      size: workingSize.optional(),
      normalize: NormalizePresetSchema.optional(),
      augment: z.array(TransformOpSchema).optional(),
    },
    { error: (iss) => (iss.input === undefined ? 'required: { id: folder of the in-distribution images, ood, size, normalize, ... }' : `a mapping (id, ood, size, normalize, ...) (got ${typeof iss.input})`) },
  ),
  /** a list of entries, or a mapping method -> overrides */
  methods: z.union([z.array(MethodEntrySchema).min(1, 'list at least one of LP, FT, LP-FT, DAFT'), z.partialRecord(MethodNameSchema, MethodOverridesSchema.nullish())], {
    error: (iss) => (iss.input === undefined ? 'list at least one of LP, FT, LP-FT, DAFT' : 'a list of methods, or a mapping method -> overrides'),
  }),
  /** applied to every method before its own overrides */
  defaults: RecipeOverridesSchema.optional(),
  epochs: RecipeFieldsSchema.shape.epochs.optional(),
  batchSize: RecipeFieldsSchema.shape.batchSize.optional(),
  seeds: z.union([nonNegativeInt, z.array(nonNegativeInt).min(1, 'list at least one seed')], got('non-negative integers')).optional(),
  sweep: SweepSpecSchema.partial()
    .extend({ daftHeadLr: z.union([z.array(gridRate), HeadLrModeSchema], got("a list of learning rates, 'paper' or 'extended'")).optional() })
    .optional(),
}, got('must be a mapping'))

export type ExperimentFile = z.input<typeof ExperimentFileSchema>
export type MethodEntry = z.input<typeof MethodEntrySchema>
