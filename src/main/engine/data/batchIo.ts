/**
 * Per-sample I/O of the data pipeline: sharp decoding, the on-disk decoded-image cache, and a whole
 * batch (load -> augment -> normalise into one Float32Array). Runs in the main thread (decode.ts, the loader's
 * in-thread mode) and in the data workers (dataWorker.ts); the messages between pool.ts and a worker are
 * typed here too.
 */
import fs from 'node:fs'
import crypto from 'node:crypto'
import sharp from 'sharp'
import type { SkipReason, TransformOp } from '../../../shared/datasets'
import { Rng, type RngState } from '../../../shared/random'
import { applyOps, normalizeInto, toFloatRgb, toUint8, type FloatImage } from './imageOps'

/** Decoded 8-bit RGB, HWC. */
export interface RawImage {
  data: Uint8Array
  width: number
  height: number
  channels: 3
}

/** What a worker (or the main thread) needs to turn paths into a batch. Plain data (structured-clone safe). */
export interface PipelineSpec {
  /** deterministic leading ops, applied once and cached (the first one runs inside sharp if it is a resize) */
  prefix: TransformOp[]
  /** the rest, re-drawn every epoch */
  random: TransformOp[]
  mean: number[]
  std: number[]
  /** fixed output size, or 0 x 0 to take it from the first image of each batch */
  outHeight: number
  outWidth: number
  /** sharp limitInputPixels (0 = no limit) */
  pixelLimit: number
  cacheDir: string | null
  /** identifies the prefix in cache keys */
  prefixKey: string
}

export interface SampleJob {
  path: string
  label: number
  index: number
  /** sfc32 state for this sample's augmentation (derived from seed, epoch, index) */
  rng: RngState
}

export interface BatchFailure {
  path: string
  index: number
  reason: SkipReason
  detail: string
}

export interface BatchResult {
  /** own (non-shared) buffers: a worker transfers them */
  x: Float32Array<ArrayBuffer>
  y: Int32Array<ArrayBuffer>
  index: Int32Array<ArrayBuffer>
  height: number
  width: number
  failed: BatchFailure[]
  cacheHits: number
  cacheMisses: number
}

/** pool.ts -> worker: one batch. */
export interface WorkerRequest {
  id: number
  spec: PipelineSpec
  jobs: SampleJob[]
}

/** worker -> pool.ts: first `WorkerHello` once, then one `WorkerReply` per request (x, y, index transferred). */
export type WorkerReply = { id: number; ok: true; result: BatchResult } | { id: number; ok: false; error: string }
export interface WorkerHello {
  ready: true
  /** imageOps.selfTest() computed in the worker */
  selfTest: number
}

let sharpConfigured = false
/** sharp, with libvips' operation cache off (it only costs time when every file is read once per epoch). */
function decoder(): typeof sharp {
  if (!sharpConfigured) {
    sharp.cache(false)
    sharpConfigured = true
  }
  return sharp
}

/** Map a decoder / file-system error to a skip reason. */
export function skipReason(message: string): SkipReason {
  const m = message.toLowerCase()
  if (m.includes('pixel limit')) return 'too-large'
  if (m.includes('unsupported image format') || m.includes('not a known file format') || m.includes('is not in a known format')) return 'not-an-image'
  if (m.includes('eloop') || m.includes('too many levels of symbolic links')) return 'symlink-loop'
  if (m.includes('enoent') || m.includes('eacces') || m.includes('eperm') || m.includes('eisdir') || m.includes('input file is missing') || m.includes('not a regular file')) {
    return 'unreadable'
  }
  return 'corrupt'
}

/** Decode a file to 8-bit RGB with sharp: EXIF orientation applied, first frame only, optional resize. */
export async function decodeRaw(
  path: string,
  pixelLimit: number,
  resize: { size: number | number[]; interpolation?: string } | null,
): Promise<RawImage> {
  const bytes = fs.readFileSync(path)
  if (bytes.length === 0) throw new Error('zero-byte file')
  let p = decoder()(bytes, { limitInputPixels: pixelLimit > 0 ? pixelLimit : false, failOn: 'warning', animated: false, pages: 1 })
  p = p.autoOrient()
  if (resize) {
    const interp = resize.interpolation || 'bilinear'
    const kernel = interp === 'nearest' ? 'nearest' : interp === 'bicubic' ? 'cubic' : interp === 'lanczos' ? 'lanczos3' : 'linear'
    const s = resize.size
    p =
      typeof s === 'number'
        ? p.resize({ width: s, height: s, fit: 'outside', kernel })
        : p.resize({ width: s[1], height: s[0], fit: 'fill', kernel })
  }
  const out = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
  const { width, height, channels } = out.info
  const src = out.data
  if (channels === 3) return { data: new Uint8Array(src.buffer, src.byteOffset, src.length), width, height, channels: 3 }
  const n = width * height
  const data = new Uint8Array(n * 3)
  for (let i = 0; i < n; i++) {
    if (channels >= 3) {
      data[3 * i] = src[channels * i]
      data[3 * i + 1] = src[channels * i + 1]
      data[3 * i + 2] = src[channels * i + 2]
    } else {
      const v = src[channels * i]
      data[3 * i] = v
      data[3 * i + 1] = v
      data[3 * i + 2] = v
    }
  }
  return { data, width, height, channels: 3 }
}

/** Cache file of a source image: keyed by path + byte size + mtime + transform prefix. */
export function cachePath(cacheDir: string, path: string, size: number, mtimeMs: number, prefixKey: string): string {
  const key = crypto.createHash('sha1').update(`${path}\u0000${size}\u0000${mtimeMs}\u0000${prefixKey}`).digest('hex')
  return `${cacheDir}/${key.slice(0, 2)}/${key}.rgb`
}

/** Cache file = 'DIC1' + uint32 LE width, height, channels + HWC uint8 pixels. Returns null when absent or damaged. */
export function cacheRead(file: string): RawImage | null {
  let buf: Uint8Array
  try {
    buf = fs.readFileSync(file)
  } catch {
    return null
  }
  if (buf.length < 16 || buf[0] !== 0x44 || buf[1] !== 0x49 || buf[2] !== 0x43 || buf[3] !== 0x31) return null
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length)
  const width = view.getUint32(4, true)
  const height = view.getUint32(8, true)
  if (view.getUint32(12, true) !== 3 || buf.length !== 16 + width * height * 3) return null
  return { data: buf.subarray(16), width, height, channels: 3 }
}

/** Atomic write (temp file + rename), so parallel workers never read half a file. Errors are ignored (a cache). */
export function cacheWrite(file: string, img: RawImage): void {
  try {
    const dir = file.slice(0, file.lastIndexOf('/'))
    fs.mkdirSync(dir, { recursive: true })
    const head = new Uint8Array(16)
    head.set([0x44, 0x49, 0x43, 0x31])
    const view = new DataView(head.buffer)
    view.setUint32(4, img.width, true)
    view.setUint32(8, img.height, true)
    view.setUint32(12, 3, true)
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    const fd = fs.openSync(tmp, 'w')
    try {
      fs.writeSync(fd, head)
      fs.writeSync(fd, img.data)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, file)
  } catch {
    /* a cache that cannot be written only costs speed */
  }
}

/** One image after the deterministic prefix, from the cache when possible. */
export async function loadPrefixed(spec: PipelineSpec, path: string): Promise<{ image: RawImage; hit: boolean }> {
  const st = fs.statSync(path)
  if (!st.isFile()) throw new Error(`not a regular file: ${path}`)
  if (st.size === 0) throw new Error('zero-byte file')
  let cacheFile: string | null = null
  if (spec.cacheDir) {
    cacheFile = cachePath(spec.cacheDir, path, st.size, st.mtimeMs, spec.prefixKey)
    const cached = cacheRead(cacheFile)
    if (cached) return { image: cached, hit: true }
  }
  const first = spec.prefix.length > 0 && spec.prefix[0].op === 'resize' ? spec.prefix[0] : null
  let image = await decodeRaw(path, spec.pixelLimit, first)
  const rest = first ? spec.prefix.slice(1) : spec.prefix
  if (rest.length > 0) {
    const f = applyOps(toFloatRgb(image.data, image.width, image.height, 3), rest, Rng.fromState([1, 2, 3, 4]))
    image = { data: toUint8(f), width: f.width, height: f.height, channels: 3 }
  }
  if (cacheFile) cacheWrite(cacheFile, image)
  return { image, hit: false }
}

/** Load, augment and normalise a batch. A sample that fails is left out and reported; nothing throws per file. */
export async function processBatch(spec: PipelineSpec, jobs: SampleJob[]): Promise<BatchResult> {
  const n = jobs.length
  const loaded: (RawImage | null)[] = new Array(n).fill(null)
  const failed: BatchFailure[] = []
  let cacheHits = 0
  let cacheMisses = 0
  let next = 0
  async function lane(): Promise<void> {
    while (next < n) {
      const i = next++
      try {
        const r = await loadPrefixed(spec, jobs[i].path)
        loaded[i] = r.image
        if (r.hit) cacheHits++
        else cacheMisses++
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e)
        failed.push({ path: jobs[i].path, index: jobs[i].index, reason: skipReason(msg), detail: msg })
      }
    }
  }
  const lanes: Promise<void>[] = []
  for (let l = 0; l < Math.min(8, n); l++) lanes.push(lane())
  await Promise.all(lanes)

  let H = spec.outHeight
  let W = spec.outWidth
  const per: (FloatImage | null)[] = new Array(n).fill(null)
  for (let i = 0; i < n; i++) {
    const im = loaded[i]
    if (!im) continue
    try {
      const out = applyOps(toFloatRgb(im.data, im.width, im.height, 3), spec.random, Rng.fromState(jobs[i].rng))
      if (H === 0) {
        H = out.height
        W = out.width
      }
      if (out.height !== H || out.width !== W) {
        throw new Error(`size mismatch: ${out.width}x${out.height} after transforms, batch is ${W}x${H} (end the pipeline with a fixed-size op)`)
      }
      per[i] = out
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      failed.push({ path: jobs[i].path, index: jobs[i].index, reason: 'corrupt', detail: msg })
    }
  }
  const ok = per.filter((p) => p !== null).length
  const x = new Float32Array(ok * H * W * 3)
  const y = new Int32Array(ok)
  const index = new Int32Array(ok)
  let k = 0
  for (let i = 0; i < n; i++) {
    const im = per[i]
    if (!im) continue
    normalizeInto(im, x, k * H * W * 3, spec.mean, spec.std)
    y[k] = jobs[i].label
    index[k] = jobs[i].index
    k++
  }
  failed.sort((a, b) => a.index - b.index)
  return { x, y, index, height: H, width: W, failed, cacheHits, cacheMisses }
}
