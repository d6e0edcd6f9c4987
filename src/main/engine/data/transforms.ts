/** Single-image transform entry point (analysis, galleries, tests); the loader runs the same kernels per batch. */
import { resolveNormalize, validateTransform, type TransformConfig } from '../../../shared/datasets'
import { seedState, type SeedPart } from '../../../shared/random'
import { kApplyOps, kNormalizeInto, kRng, kToFloatRgb, kToUint8, type FloatImage } from './kernel-image'
import type { RawImage } from './kernel-io'

export type { FloatImage }

/**
 * Run `transform.ops` on a decoded image with randomness from `seed` (any parts, e.g. seed, epoch, index),
 * then normalise. Returns HWC float32 plus the augmented uint8 image (for display).
 */
export function applyTransform(
  img: RawImage,
  transform: TransformConfig,
  seed: SeedPart[] = [0],
): { data: Float32Array; width: number; height: number; rgb: Uint8Array } {
  const errors = validateTransform(transform)
  if (errors.length > 0) throw new Error(`invalid transform: ${errors.join('; ')}`)
  const [s0, ...rest] = seed
  const out = kApplyOps(kToFloatRgb(img.data, img.width, img.height, img.channels), transform.ops, kRng(seedState(s0 ?? 0, ...rest)))
  const { mean, std } = resolveNormalize(transform.normalize)
  const data = new Float32Array(out.width * out.height * 3)
  kNormalizeInto(out, data, 0, mean, std)
  return { data, width: out.width, height: out.height, rgb: kToUint8(out) }
}
