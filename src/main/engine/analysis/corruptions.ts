/**
 * Common corruptions (Hendrycks & Dietterich 2019, CIFAR-10-C): 15 corruptions x 5 severities on uint8
 * RGB images, seeded, with the reference script's 32x32 constants (make_cifar_c.py), used for the paper's
 * Table 4 robustness evaluation. Differences from the released CIFAR-10-C files, by necessity:
 * - randomness comes from the project's seeded sfc32 generator, not numpy's stream, and the five severities of
 *   one image (same seed) share their random draws (noise pattern, angle, texture), so they differ in strength
 *   only; the reference draws independently per severity (same distributions);
 * - frost blends a PROCEDURALLY GENERATED ice texture (corruption/catalog.ts frostTexture) instead of crops
 *   of the six frost photographs; snow's flakes are procedural in the reference as well (noise + ImageMagick
 *   motion blur, ported here);
 * - jpeg_compression re-encodes with sharp/libjpeg (quality 80/65/58/50/40, 4:2:0 chroma, like PIL's default)
 *   rather than PIL.
 * Images of other sizes work too (same constants; elastic/fog/frost adapt their grids to the size).
 *
 * corruptionError / mCE follow the paper: CE = error averaged over the 5 severities, mCE = mean CE over the
 * 15 corruptions, unnormalised (no AlexNet baseline).
 */
import sharp from 'sharp'
import { Rng, type SeedPart } from '../../../shared/random'
import { PIXEL_CORRUPTIONS } from './corruption/catalog'
import { fimage } from './corruption/ops'

export const CORRUPTIONS = [
  'gaussian_noise', 'shot_noise', 'impulse_noise',
  'defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur',
  'snow', 'frost', 'fog',
  'brightness', 'contrast', 'elastic_transform', 'pixelate', 'jpeg_compression',
] as const
export type CorruptionName = (typeof CORRUPTIONS)[number]

/** Table 4's grouping. */
export const CORRUPTION_GROUPS: Record<'noise' | 'blur' | 'weather' | 'digital', CorruptionName[]> = {
  noise: ['gaussian_noise', 'shot_noise', 'impulse_noise'],
  blur: ['defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur'],
  weather: ['snow', 'frost', 'fog', 'brightness'],
  digital: ['contrast', 'elastic_transform', 'pixelate', 'jpeg_compression'],
}

export const SEVERITIES = [1, 2, 3, 4, 5] as const
export type Severity = (typeof SEVERITIES)[number]

/** JPEG quality per severity (the reference's 32x32 constants). */
export const JPEG_QUALITY = [80, 65, 58, 50, 40] as const

/** 8-bit RGB, HWC, 3 channels. */
export interface RgbImage {
  data: Uint8Array
  width: number
  height: number
}

function check(img: RgbImage, where: string): void {
  if (!(img.width > 0 && img.height > 0 && Number.isInteger(img.width) && Number.isInteger(img.height))) {
    throw new Error(`${where}: bad image size ${img.width}x${img.height}`)
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`${where}: ${img.data.length} bytes do not make a ${img.width}x${img.height} RGB image (${img.width * img.height * 3})`)
  }
}

function checkSeverity(severity: number, where: string): void {
  if (!SEVERITIES.includes(severity as Severity)) throw new Error(`${where}: severity must be 1..5 (got ${severity})`)
}

/** JPEG re-encode with sharp at `quality` (4:2:0), decoded back; also returns the encoded size. */
export async function jpegRoundTrip(img: RgbImage, quality: number): Promise<{ image: RgbImage; bytes: number }> {
  check(img, 'jpegRoundTrip')
  const jpeg = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer()
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  if (info.channels !== 3 || info.width !== img.width || info.height !== img.height) {
    throw new Error(`jpegRoundTrip: decoded ${info.width}x${info.height}x${info.channels}, expected ${img.width}x${img.height}x3`)
  }
  return { image: { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: img.width, height: img.height }, bytes: jpeg.length }
}

/**
 * Apply one corruption at one severity. `seed` (one part or several, e.g. [runSeed, imageIndex]) fixes all
 * randomness: the same image, corruption, severity and seed always give the same pixels.
 */
export async function corrupt(img: RgbImage, name: CorruptionName, severity: number, seed: SeedPart | SeedPart[] = 0): Promise<RgbImage> {
  const where = `corrupt(${name}, ${severity})`
  check(img, where)
  checkSeverity(severity, where)
  if (name === 'jpeg_compression') return (await jpegRoundTrip(img, JPEG_QUALITY[severity - 1])).image
  return corruptSync(img, name, severity, seed)
}

/** Same as corrupt() for the 14 corruptions that need no encoder (everything but jpeg_compression). */
export function corruptSync(img: RgbImage, name: Exclude<CorruptionName, 'jpeg_compression'>, severity: number, seed: SeedPart | SeedPart[] = 0): RgbImage {
  const where = `corrupt(${name}, ${severity})`
  check(img, where)
  checkSeverity(severity, where)
  const fn = PIXEL_CORRUPTIONS[name]
  if (!fn) throw new Error(`${where}: unknown corruption '${name}' (known: ${CORRUPTIONS.join(', ')})`)
  const parts = Array.isArray(seed) ? seed : [seed]
  // no severity in the stream: one image's five severities share their random draws and differ in strength only
  const rng = new Rng(parts[0] ?? 0, ...parts.slice(1), 'corruption', name)
  const x = fimage(img.width, img.height, 3, Float32Array.from(img.data, (v) => v / 255))
  const y = fn(x, severity, rng)
  const out = new Uint8Array(y.data.length)
  // np.uint8 of values clipped to [0, 255]: truncation, as the reference script stores them
  for (let i = 0; i < out.length; i++) {
    const v = y.data[i]
    out[i] = v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0
  }
  return { data: out, width: img.width, height: img.height }
}

/** Corruption Error of one corruption: the error rate averaged over the 5 severities (paper Table 4). */
export function corruptionError(errorsBySeverity: ArrayLike<number>): number {
  if (errorsBySeverity.length !== 5) throw new Error(`corruptionError: need 5 errors (severities 1..5), got ${errorsBySeverity.length}`)
  let s = 0
  for (let i = 0; i < 5; i++) {
    const e = errorsBySeverity[i]
    if (!Number.isFinite(e) || e < 0) throw new Error(`corruptionError: error at severity ${i + 1} is ${e}`)
    s += e
  }
  return s / 5
}

/** mCE: mean of the 15 corruption errors (unnormalised); errors per corruption, 5 severities each. */
export function mCE(errors: Partial<Record<CorruptionName, ArrayLike<number>>>): { mCE: number; ce: Record<CorruptionName, number> } {
  const unknown = Object.keys(errors).filter((k) => !CORRUPTIONS.includes(k as CorruptionName))
  if (unknown.length > 0) throw new Error(`mCE: unknown corruptions ${unknown.join(', ')}`)
  const missing = CORRUPTIONS.filter((c) => errors[c] === undefined)
  if (missing.length > 0) throw new Error(`mCE: missing corruptions ${missing.join(', ')} (need all ${CORRUPTIONS.length})`)
  const ce = {} as Record<CorruptionName, number>
  for (const c of CORRUPTIONS) {
    try {
      ce[c] = corruptionError(errors[c]!)
    } catch (e) {
      throw new Error(`mCE: ${c}: ${(e as Error).message}`)
    }
  }
  return { mCE: CORRUPTIONS.reduce((s, c) => s + ce[c], 0) / CORRUPTIONS.length, ce }
}
