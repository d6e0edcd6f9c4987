/** Single-image transform entry point (analysis, galleries, tests); the loader runs the same pixel ops per batch. */
import { resolveNormalize, validateTransform, type TransformConfig } from '../../../shared/datasets'
import { Rng, seedState, type SeedPart } from '../../../shared/random'
import { applyOps, normalizeInto, toFloatRgb, toUint8, type FloatImage } from './imageOps'
import type { RawImage } from './batchIo'

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
  const out = applyOps(toFloatRgb(img.data, img.width, img.height, img.channels), transform.ops, Rng.fromState(seedState(s0 ?? 0, ...rest)))
  const { mean, std } = resolveNormalize(transform.normalize)
  const data = new Float32Array(out.width * out.height * 3)
  normalizeInto(out, data, 0, mean, std)
  return { data, width: out.width, height: out.height, rgb: toUint8(out) }
}
