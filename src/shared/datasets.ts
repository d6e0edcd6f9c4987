/**
 * Dataset types shared by the engine, the services and the UI: import report, transform config,
 * normalisation presets. Plain data and pure functions only (no Node, DOM or tfjs).
 */

// ---------------------------------------------------------------- import report

/** Why a file (or a class folder) was left out of an import or a run. */
export type SkipReason = 'corrupt' | 'not-an-image' | 'unreadable' | 'too-large' | 'empty-class' | 'symlink-loop' | 'outside-root'

export interface SkippedFile {
  path: string
  reason: SkipReason
  /** human-readable cause, e.g. "VipsJpeg: Premature end of input file" */
  detail: string
  /** split / set the file belonged to ('train', 'val', 'test', or an OOD set name) */
  split?: string
}

export interface SplitCounts {
  total: number
  /** class name -> number of samples (every class of the set's class list, zeros included) */
  perClass: Record<string, number>
}

export interface ImageSizeSummary {
  /** images whose header was read */
  count: number
  minWidth: number
  maxWidth: number
  minHeight: number
  maxHeight: number
  meanWidth: number
  meanHeight: number
  /** most frequent sizes first (at most 10) */
  common: { width: number; height: number; count: number }[]
  /** decoder format -> count (jpeg, png, webp, gif, tiff, heif) */
  formats: Record<string, number>
  /** channels in the file (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA/CMYK) -> count */
  channels: Record<string, number>
}

export type DatasetLayout = 'imagefolder' | 'splits'

/** Everything an import learned; JSON-serialisable (stored in SQLite by the services). */
export interface ImportReport {
  root: string
  layout: DatasetLayout
  /** class list in label order (sorted folder names, or the ID classes an OOD set was aligned to) */
  classes: string[]
  /** 'train' | 'val' | 'test' (or the OOD set name) -> counts */
  splits: Record<string, SplitCounts>
  /** how val was obtained when the folder had none */
  valFrom?: { split: 'train'; fraction: number; seed: number }
  /** header summary (absent with verify: 'none') */
  sizes?: ImageSizeSummary
  skipped: SkippedFile[]
  /** dotfiles (.DS_Store, ._x.jpg) ignored silently */
  hiddenIgnored: number
  /** alignment with the ID classes (OOD sets / explicit mapping) */
  alignment?: ClassAlignmentReport
  notes: string[]
  verify: VerifyMode
  durationMs: number
}

/** How deeply an import checks files: none (names only), header (sharp metadata), decode (full decode). */
export type VerifyMode = 'none' | 'header' | 'decode'

export interface ClassAlignmentReport {
  /** folder classes with no ID counterpart: their samples are dropped */
  dropped: string[]
  /** ID classes absent from this set (fine for evaluation; their accuracy is undefined) */
  missing: string[]
  /** folder name -> ID class name, for the folders that were renamed by the mapping */
  renamed: Record<string, string>
}

// ---------------------------------------------------------------- transforms

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos'
/** An int means "shorter side to this many pixels" (torchvision); a pair is [height, width]. */
export type SizeSpec = number | [number, number]

export interface ResizeOp {
  op: 'resize'
  size: SizeSpec
  interpolation?: Interpolation
}
export interface CenterCropOp {
  op: 'centerCrop'
  size: SizeSpec
}
export interface RandomCropOp {
  op: 'randomCrop'
  size: SizeSpec
  /** pixels added on every side (int) or [left/right, top/bottom] before cropping */
  padding?: number | [number, number]
  paddingMode?: 'constant' | 'edge' | 'reflect'
  /** 0..255 fill for 'constant' padding (default 0) */
  fill?: number
}
export interface RandomResizedCropOp {
  op: 'randomResizedCrop'
  size: SizeSpec
  /** area fraction range, default [0.08, 1] */
  scale?: [number, number]
  /** aspect ratio range, default [3/4, 4/3] */
  ratio?: [number, number]
}
export interface HorizontalFlipOp {
  op: 'horizontalFlip'
  /** probability, default 0.5 */
  p?: number
}
export interface ColorJitterOp {
  op: 'colorJitter'
  brightness?: number
  contrast?: number
  saturation?: number
  /** 0..0.5 */
  hue?: number
}
export type TransformOp = ResizeOp | CenterCropOp | RandomCropOp | RandomResizedCropOp | HorizontalFlipOp | ColorJitterOp

/** The normalisation presets, listed once: the schemas' enum, the forms' options and the CLI's --normalize take them from here. */
export const NORMALIZE_PRESET_NAMES = ['imagenet', 'minus1to1', 'clip', 'unit'] as const
/** A preset by name (what an experiment and a model's preprocessing name) */
export type NormalizePresetName = (typeof NORMALIZE_PRESET_NAMES)[number]
/** 'custom' takes the mean and std of a NormalizeConfig */
export type NormalizePreset = NormalizePresetName | 'custom'
export interface NormalizeConfig {
  preset: NormalizePreset
  /** per-channel RGB mean / std on the [0, 1] scale (required for 'custom') */
  mean?: [number, number, number]
  std?: [number, number, number]
}

/** Mean/std on the [0, 1] scale: x = (pixel / 255 - mean) / std. */
export const NORMALIZE_PRESETS: Record<NormalizePresetName, { mean: [number, number, number]; std: [number, number, number]; label: string }> = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], label: 'ImageNet mean/std (torchvision, CIFAR ResNets)' },
  minus1to1: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], label: '[-1, 1] (Keras MobileNetV2, Teachable Machine)' },
  clip: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711], label: 'CLIP mean/std' },
  unit: { mean: [0, 0, 0], std: [1, 1, 1], label: '[0, 1] (no normalisation)' },
}

export interface TransformConfig {
  ops: TransformOp[]
  normalize: NormalizeConfig
}

/** Resolved mean/std of a normalisation config; throws on a bad custom config. */
export function resolveNormalize(cfg: NormalizeConfig): { mean: [number, number, number]; std: [number, number, number] } {
  if (cfg.preset === 'custom') {
    const { mean, std } = cfg
    if (!mean || !std || mean.length !== 3 || std.length !== 3) throw new Error('normalize: custom needs mean and std with 3 values each')
    if (std.some((s) => !(s > 0)) || mean.some((m) => !Number.isFinite(m))) throw new Error('normalize: std must be > 0 and mean finite')
    return { mean: [...mean] as [number, number, number], std: [...std] as [number, number, number] }
  }
  const p = NORMALIZE_PRESETS[cfg.preset]
  if (!p) throw new Error(`normalize: unknown preset '${String(cfg.preset)}'`)
  return { mean: [...p.mean] as [number, number, number], std: [...p.std] as [number, number, number] }
}

export function isRandomOp(op: TransformOp): boolean {
  return op.op === 'randomCrop' || op.op === 'randomResizedCrop' || op.op === 'horizontalFlip' || op.op === 'colorJitter'
}

function checkSize(s: SizeSpec, where: string, errors: string[]): void {
  const ok = (v: number): boolean => Number.isInteger(v) && v > 0 && v <= 8192
  if (typeof s === 'number' ? !ok(s) : !(Array.isArray(s) && s.length === 2 && ok(s[0]) && ok(s[1]))) {
    errors.push(`${where}: size must be a positive integer or [height, width] (got ${JSON.stringify(s)})`)
  }
}

/** Problems with a transform config (empty list = valid). */
export function validateTransform(cfg: TransformConfig): string[] {
  const errors: string[] = []
  if (!cfg || !Array.isArray(cfg.ops)) return ['transform: ops must be a list']
  cfg.ops.forEach((op, i) => {
    const where = `transform.ops[${i}] (${op?.op})`
    switch (op?.op) {
      case 'resize':
      case 'centerCrop':
        checkSize(op.size, where, errors)
        break
      case 'randomCrop':
        checkSize(op.size, where, errors)
        if (op.padding !== undefined) {
          const pads = typeof op.padding === 'number' ? [op.padding] : op.padding
          if (!Array.isArray(pads) || pads.some((p) => !Number.isInteger(p) || p < 0)) errors.push(`${where}: padding must be non-negative integers`)
        }
        break
      case 'randomResizedCrop': {
        checkSize(op.size, where, errors)
        const sc = op.scale ?? [0.08, 1]
        const ra = op.ratio ?? [3 / 4, 4 / 3]
        if (!(sc[0] > 0 && sc[0] <= sc[1] && sc[1] <= 1)) errors.push(`${where}: scale must satisfy 0 < min <= max <= 1`)
        if (!(ra[0] > 0 && ra[0] <= ra[1])) errors.push(`${where}: ratio must satisfy 0 < min <= max`)
        break
      }
      case 'horizontalFlip':
        if (op.p !== undefined && !(op.p >= 0 && op.p <= 1)) errors.push(`${where}: p must be in [0, 1]`)
        break
      case 'colorJitter':
        for (const k of ['brightness', 'contrast', 'saturation'] as const) {
          const v = op[k]
          if (v !== undefined && !(v >= 0)) errors.push(`${where}: ${k} must be >= 0`)
        }
        if (op.hue !== undefined && !(op.hue >= 0 && op.hue <= 0.5)) errors.push(`${where}: hue must be in [0, 0.5]`)
        break
      default:
        errors.push(`${where}: unknown transform`)
    }
  })
  try {
    resolveNormalize(cfg.normalize)
  } catch (e) {
    errors.push((e as Error).message)
  }
  return errors
}

/** The fixed output [height, width] of a pipeline, or null when it depends on the image (only Resize(int)). */
export function transformOutputSize(ops: TransformOp[]): [number, number] | null {
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]
    if (op.op === 'horizontalFlip' || op.op === 'colorJitter') continue
    if (typeof op.size === 'number') return op.op === 'resize' ? null : [op.size, op.size]
    return [op.size[0], op.size[1]]
  }
  return null
}

/**
 * The evaluation counterpart of a training pipeline (torchvision convention): random ops removed,
 * RandomResizedCrop(s) -> Resize(round(s / 0.875)) + CenterCrop(s), RandomCrop(s) -> CenterCrop(s).
 */
export function evalTransform(cfg: TransformConfig): TransformConfig {
  const ops: TransformOp[] = []
  for (const op of cfg.ops) {
    if (op.op === 'randomResizedCrop') {
      const s = op.size
      const big: SizeSpec = typeof s === 'number' ? Math.round(s / 0.875) : [Math.round(s[0] / 0.875), Math.round(s[1] / 0.875)]
      ops.push({ op: 'resize', size: big }, { op: 'centerCrop', size: s })
    } else if (op.op === 'randomCrop') ops.push({ op: 'centerCrop', size: op.size })
    else if (!isRandomOp(op)) ops.push(op)
  }
  return { ops, normalize: cfg.normalize }
}

/** The augmentation recipes of the paper's experiments (training side), keyed by dataset family. */
export const TRANSFORM_RECIPES: Record<string, { label: string; ops: TransformOp[] }> = {
  'cifar-32': { label: 'CIFAR at 32x32: RandomCrop(32, padding 4) + flip', ops: [{ op: 'randomCrop', size: 32, padding: 4 }, { op: 'horizontalFlip' }] },
  'cifar-224': { label: 'CIFAR-10 / STL (paper): Resize(224) + flip', ops: [{ op: 'resize', size: [224, 224] }, { op: 'horizontalFlip' }] },
  breeds: { label: 'Entity-30 / Living-17 (paper): RandomResizedCrop(224) + flip', ops: [{ op: 'randomResizedCrop', size: 224 }, { op: 'horizontalFlip' }] },
  domainnet: { label: 'DomainNet (paper): Resize(256) + RandomCrop(224) + flip', ops: [{ op: 'resize', size: [256, 256] }, { op: 'randomCrop', size: 224 }, { op: 'horizontalFlip' }] },
  fmow: { label: 'fMoW (paper): flip only (images are 224x224)', ops: [{ op: 'resize', size: [224, 224] }, { op: 'horizontalFlip' }] },
  'cityscapes-jitter': {
    label: 'Colour jitter 0.5/0.5/0.5/0 + flip (paper, segmentation)',
    ops: [{ op: 'colorJitter', brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0 }, { op: 'horizontalFlip' }],
  },
  'digits-32': { label: 'Digits to 32x32 RGB (no augmentation)', ops: [{ op: 'resize', size: [32, 32] }] },
}
