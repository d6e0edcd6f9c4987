/**
 * Image decoding with sharp (main-thread entry points): JPEG, PNG, WebP, GIF (first frame), TIFF, AVIF.
 * Grey becomes RGB, alpha is dropped, EXIF orientation is applied, `pixelLimit` refuses decompression bombs.
 */
import fs from 'node:fs'
import sharp from 'sharp'
import type { Interpolation, SizeSpec, SkipReason } from '../../../shared/datasets'
import { decodeRaw, skipReason, type RawImage } from './batchIo'

/** Default pixel limit: 100 megapixels (a 10000x10000 image); sharp's own default is 0x3FFF^2. */
export const DEFAULT_PIXEL_LIMIT = 100_000_000

/** The formats this build of sharp reads (AVIF/HEIF only when libheif is present). */
export const SUPPORTED_EXTENSIONS: readonly string[] = (() => {
  const exts = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff']
  const heif = (sharp.format as unknown as Record<string, { input?: { file?: boolean } }>).heif
  if (heif?.input?.file) exts.push('.avif')
  return exts
})()

export interface DecodeOptions {
  /** resize while decoding: int = shorter side (torchvision Resize), [height, width] = exact */
  size?: SizeSpec
  interpolation?: Interpolation
  /** maximum width*height accepted (default DEFAULT_PIXEL_LIMIT; 0 = none) */
  pixelLimit?: number
}

/** Decode one file to 8-bit RGB (HWC). Throws an Error naming the file and the problem. */
export async function decodeImage(path: string, opts: DecodeOptions = {}): Promise<RawImage> {
  const limit = opts.pixelLimit ?? DEFAULT_PIXEL_LIMIT
  try {
    const st = fs.statSync(path)
    if (!st.isFile()) throw new Error('not a regular file')
    return await decodeRaw(path, limit, opts.size === undefined ? null : { size: opts.size, interpolation: opts.interpolation })
  } catch (e) {
    const err = new Error(`${path}: ${(e as Error).message}`) as Error & { reason?: SkipReason }
    err.reason = skipReason((e as Error).message)
    throw err
  }
}

export interface ImageHeader {
  width: number
  height: number
  /** channels stored in the file */
  channels: number
  format: string
}

/** Read only the header (sharp metadata): size, channels, format; EXIF-rotated sizes are swapped. */
export async function probeImage(path: string, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<ImageHeader> {
  const m = await sharp(path, { limitInputPixels: pixelLimit > 0 ? pixelLimit : false }).metadata()
  if (!m.width || !m.height || !m.format) throw new Error('unsupported image format (no size in header)')
  if (pixelLimit > 0 && m.width * m.height > pixelLimit) {
    throw new Error(`Input image exceeds pixel limit (${m.width}x${m.height} > ${pixelLimit} pixels)`)
  }
  const rotated = (m.orientation ?? 1) >= 5
  return { width: rotated ? m.height : m.width, height: rotated ? m.width : m.height, channels: m.channels ?? 0, format: m.format }
}
