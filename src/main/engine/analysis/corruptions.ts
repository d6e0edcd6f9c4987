/**
 * Common corruptions (Hendrycks & Dietterich 2019): 15 corruptions x 5 severities on uint8 RGB images, seeded,
 * used for the paper's Table 4 robustness evaluation, in two families of constants (corruption/catalog.ts):
 * - 'cifar': CIFAR-10-C's (make_cifar_c.py, written for 32x32 images);
 * - 'imagenet': ImageNet-C's (make_imagenet_c.py, written for 224x224 centre crops of images resized to a
 *   256-px short side, so its pixel constants are at the scale of a 256-px short side).
 *
 * Images are corrupted at their OWN resolution, never at the model's working size: corruptionSize() caps the
 * short side at 256 (larger images are first resized so the short side is 256, aspect kept, as ImageNet-C's
 * Resize(256)); no centre crop is taken, so corrupted and clean images show the same field of view (the
 * workbench evaluates whole images resized to the working size), while the pixel scale at which the
 * ImageNet constants apply is exactly ImageNet-C's. The family follows the size (corruptionFamily): a short
 * side <= 90 px gets CIFAR-10-C's constants, larger images ImageNet-C's; 90 is the geometric midpoint
 * (sqrt(32 * 256) = 90.5) of the two scripts' pixel scales, so every size gets the constants written for the
 * scale nearer to it on a log scale (16-px USPS, 28-px MNIST, 32-px CIFAR/MNIST-M, 64-px Tiny ImageNet and
 * 84-px mini-ImageNet are 'cifar'; 96-px STL-10 and photos are 'imagenet'). corruptThenResize() is the whole
 * pipeline: corrupt at the capped size, then resize (bilinear, as decodeImage) to the working size.
 *
 * Differences from the released CIFAR-10-C / ImageNet-C files, by necessity:
 * - randomness comes from the project's seeded sfc32 generator, not numpy's stream, and the five severities of
 *   one image (same seed) share their random draws (noise pattern, angle, texture), so they differ in strength
 *   only; the reference draws independently per severity (same distributions);
 * - frost blends a PROCEDURALLY GENERATED ice texture (corruption/catalog.ts frostTexture, scaled to the image)
 *   instead of crops of the six frost photographs, for both families; snow's flakes are procedural in the
 *   reference as well (noise + ImageMagick motion blur, ported here);
 * - jpeg_compression re-encodes with sharp/libjpeg (4:2:0 chroma, like PIL's default) rather than PIL, at the
 *   family's qualities (80/65/58/50/40 or 25/18/15/10/7);
 * - ImageNet-C stored every corrupted image as JPEG quality 85; that extra compression is not applied here.
 * Any size works with either family (the scripts' hard-coded 32 / 224 loop bounds and crops become the image's
 * own size; fog tiles its periodic plasma map).
 *
 * corruptionError / mCE follow the paper: CE = error averaged over the 5 severities, mCE = mean CE over the
 * 15 corruptions, unnormalised (no AlexNet baseline).
 */
import sharp from 'sharp'
import { Rng, type SeedPart } from '../../../shared/random'
import { CORRUPTION_CONSTANTS, PIXEL_CORRUPTIONS, type CorruptionFamily } from './corruption/catalog'
import { fimage } from './corruption/ops'

export { CORRUPTION_CONSTANTS, CORRUPTION_FAMILIES, type CorruptionFamily } from './corruption/catalog'

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

/** JPEG quality per severity, per family (the reference scripts' constants). */
export const JPEG_QUALITY: Readonly<Record<CorruptionFamily, readonly number[]>> = CORRUPTION_CONSTANTS.jpeg_compression

/** Images with a short side up to this many pixels get CIFAR-10-C's constants, larger ones ImageNet-C's. */
export const CIFAR_FAMILY_MAX_SHORT_SIDE = 90
/** Images are corrupted at their own size, the short side capped at this (ImageNet-C's Resize(256)). */
export const CORRUPTION_MAX_SHORT_SIDE = 256

/** 8-bit RGB, HWC, 3 channels. */
export interface RgbImage {
  data: Uint8Array
  width: number
  height: number
}

export interface CorruptOptions {
  /** constants to use; default corruptionFamily(width, height) of the image */
  family?: CorruptionFamily
}

/** The family of constants for an image of this size: 'cifar' for a short side <= 90 px, else 'imagenet'. */
export function corruptionFamily(width: number, height: number): CorruptionFamily {
  return Math.min(width, height) <= CIFAR_FAMILY_MAX_SHORT_SIDE ? 'cifar' : 'imagenet'
}

/**
 * [width, height] an image of this size is corrupted at: its own size, or, when the short side exceeds 256,
 * short side 256 and the long side scaled to keep the aspect ratio (rounded, as sharp's fit 'outside').
 */
export function corruptionSize(width: number, height: number): [number, number] {
  const short = Math.min(width, height)
  if (short <= CORRUPTION_MAX_SHORT_SIDE) return [width, height]
  const k = CORRUPTION_MAX_SHORT_SIDE / short
  return width <= height ? [CORRUPTION_MAX_SHORT_SIDE, Math.max(CORRUPTION_MAX_SHORT_SIDE, Math.round(height * k))] : [Math.max(CORRUPTION_MAX_SHORT_SIDE, Math.round(width * k)), CORRUPTION_MAX_SHORT_SIDE]
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

function familyOf(img: RgbImage, opts: CorruptOptions, where: string): CorruptionFamily {
  const family = opts.family ?? corruptionFamily(img.width, img.height)
  if (family !== 'cifar' && family !== 'imagenet') throw new Error(`${where}: family must be 'cifar' or 'imagenet' (got ${String(family)})`)
  return family
}

type SharpPipeline = ReturnType<typeof sharp>

const rawInput = (img: RgbImage): SharpPipeline =>
  sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } })

async function toRgb(p: SharpPipeline, where: string, expect?: [number, number]): Promise<RgbImage> {
  const { data, info } = await p.removeAlpha().raw().toBuffer({ resolveWithObject: true })
  if (info.channels !== 3 || (expect && (info.width !== expect[0] || info.height !== expect[1]))) {
    throw new Error(`${where}: got ${info.width}x${info.height}x${info.channels}${expect ? `, expected ${expect[0]}x${expect[1]}x3` : ''}`)
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height }
}

/** JPEG re-encode with sharp at `quality` (4:2:0), decoded back; also returns the encoded size. */
export async function jpegRoundTrip(img: RgbImage, quality: number): Promise<{ image: RgbImage; bytes: number }> {
  check(img, 'jpegRoundTrip')
  const jpeg = await rawInput(img).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer()
  return { image: await toRgb(sharp(jpeg), 'jpegRoundTrip', [img.width, img.height]), bytes: jpeg.length }
}

/** Resize to exactly width x height with sharp's bilinear kernel: what decodeImage(path, { size: [h, w] }) does while decoding. */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  check(img, 'resizeRgb')
  if (img.width === width && img.height === height) return img
  return toRgb(rawInput(img).resize({ width, height, fit: 'fill', kernel: 'linear' }), 'resizeRgb', [width, height])
}

/** The image at the size it is corrupted at (corruptionSize): itself, or resized to a 256-px short side. */
export async function capForCorruption(img: RgbImage): Promise<RgbImage> {
  check(img, 'capForCorruption')
  const [w, h] = corruptionSize(img.width, img.height)
  return resizeRgb(img, w, h)
}

/**
 * Apply one corruption at one severity, at the image's own size. `seed` (one part or several, e.g.
 * [runSeed, imageIndex]) fixes all randomness: the same image, corruption, severity, family and seed always
 * give the same pixels. `opts.family` picks the constants (default: from the image size, corruptionFamily).
 */
export async function corrupt(img: RgbImage, name: CorruptionName, severity: number, seed: SeedPart | SeedPart[] = 0, opts: CorruptOptions = {}): Promise<RgbImage> {
  const where = `corrupt(${name}, ${severity})`
  check(img, where)
  checkSeverity(severity, where)
  const family = familyOf(img, opts, where)
  if (name === 'jpeg_compression') return (await jpegRoundTrip(img, JPEG_QUALITY[family][severity - 1])).image
  return corruptSync(img, name, severity, seed, { family })
}

/** Same as corrupt() for the 14 corruptions that need no encoder (everything but jpeg_compression). */
export function corruptSync(img: RgbImage, name: Exclude<CorruptionName, 'jpeg_compression'>, severity: number, seed: SeedPart | SeedPart[] = 0, opts: CorruptOptions = {}): RgbImage {
  const where = `corrupt(${name}, ${severity})`
  check(img, where)
  checkSeverity(severity, where)
  const family = familyOf(img, opts, where)
  const fn = PIXEL_CORRUPTIONS[name]
  if (!fn) throw new Error(`${where}: unknown corruption '${name}' (known: ${CORRUPTIONS.join(', ')})`)
  const parts = Array.isArray(seed) ? seed : [seed]
  // no severity in the stream: one image's five severities share their random draws and differ in strength only
  const rng = new Rng(parts[0] ?? 0, ...parts.slice(1), 'corruption', name)
  const x = fimage(img.width, img.height, 3, Float32Array.from(img.data, (v) => v / 255))
  const y = fn(x, severity, rng, family)
  const out = new Uint8Array(y.data.length)
  // np.uint8 of values clipped to [0, 255]: truncation, as the reference script stores them
  for (let i = 0; i < out.length; i++) {
    const v = y.data[i]
    out[i] = v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0
  }
  return { data: out, width: img.width, height: img.height }
}

/**
 * The robustness pipeline for one decoded image: cap it for corruption (capForCorruption), corrupt it there
 * with the family of that size (or opts.family), then resize the corrupted image to width x height (the
 * working size; bilinear, as the clean images). Returns the model-sized image and what was used.
 */
export async function corruptThenResize(
  img: RgbImage,
  name: CorruptionName,
  severity: number,
  seed: SeedPart | SeedPart[],
  size: { width: number; height: number },
  opts: CorruptOptions = {},
): Promise<{ image: RgbImage; family: CorruptionFamily; corruptedAt: [number, number] }> {
  const capped = await capForCorruption(img)
  const family = opts.family ?? corruptionFamily(capped.width, capped.height)
  const corrupted = await corrupt(capped, name, severity, seed, { family })
  return { image: await resizeRgb(corrupted, size.width, size.height), family, corruptedAt: [capped.width, capped.height] }
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
      throw new Error(`mCE: ${c}: ${(e as Error).message}`, { cause: e })
    }
  }
  return { mCE: CORRUPTIONS.reduce((s, c) => s + ce[c], 0) / CORRUPTIONS.length, ce }
}
