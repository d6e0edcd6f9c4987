/**
 * Pixel operations of the data pipeline: resampling, crops, flip, colour jitter, normalisation.
 * Images here are HWC with 3 channels; `FloatImage` values are on the 0..255 scale. Randomness comes from
 * shared/random's `Rng` (one generator per sample, from `Rng.fromState`), so main thread and data workers
 * (dataWorker.ts, which imports this file) draw the same numbers.
 * Semantics follow torchvision (RandomResizedCrop.get_params, RandomCrop, ColorJitter, PIL resampling).
 * Longer than 400 lines on purpose: every pixel operation the transform ops need, one implementation each, next to
 * applyOp, which dispatches them.
 */
import type { TransformOp } from '../../../shared/datasets'
import { Rng } from '../../../shared/random'

export interface FloatImage {
  data: Float32Array
  width: number
  height: number
}

/** A uniform index in [0, n): a single choice (n = 1) draws nothing, as the augmentation streams always have. */
function randIndex(rng: Rng, n: number): number {
  return n <= 1 ? 0 : rng.randint(0, n)
}

/** Python's round(): halves go to the even neighbour (torchvision crop offsets use it). */
export function pyRound(x: number): number {
  const f = Math.floor(x)
  const diff = x - f
  if (diff > 0.5) return f + 1
  if (diff < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}

/** uint8 (1..4 channels) -> float RGB 0..255: grey is replicated, alpha dropped. */
export function toFloatRgb(src: Uint8Array, width: number, height: number, channels: number): FloatImage {
  const n = width * height
  const out = new Float32Array(n * 3)
  if (channels === 3) {
    for (let i = 0; i < n * 3; i++) out[i] = src[i]
  } else if (channels === 4) {
    for (let i = 0; i < n; i++) {
      out[3 * i] = src[4 * i]
      out[3 * i + 1] = src[4 * i + 1]
      out[3 * i + 2] = src[4 * i + 2]
    }
  } else if (channels === 1 || channels === 2) {
    for (let i = 0; i < n; i++) {
      const v = src[channels * i]
      out[3 * i] = v
      out[3 * i + 1] = v
      out[3 * i + 2] = v
    }
  } else {
    throw new Error(`unsupported channel count ${channels}`)
  }
  return { data: out, width, height }
}

/** float RGB -> uint8 RGB (rounded, clamped). */
export function toUint8(img: FloatImage): Uint8Array {
  const out = new Uint8Array(img.data.length)
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(img.data[i])
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v
  }
  return out
}

export function filterWeight(x: number, interp: string): number {
  x = Math.abs(x)
  if (interp === 'bicubic') {
    const a = -0.5
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a
    return 0
  }
  if (interp === 'lanczos') {
    if (x >= 3) return 0
    if (x === 0) return 1
    const px = Math.PI * x
    return ((3 * Math.sin(px) * Math.sin(px / 3)) / (px * px))
  }
  return x < 1 ? 1 - x : 0 // bilinear (triangle)
}

/** PIL-style resampling weights along one axis for the source interval [b0, b1) -> outSize pixels. */
export function axisWeights(inSize: number, outSize: number, b0: number, b1: number, interp: string) {
  const scale = (b1 - b0) / outSize
  const start = new Int32Array(outSize)
  const count = new Int32Array(outSize)
  if (interp === 'nearest') {
    const weights = new Float32Array(outSize)
    for (let i = 0; i < outSize; i++) {
      const s = Math.floor(b0 + (i + 0.5) * scale)
      start[i] = Math.min(Math.max(s, 0), inSize - 1)
      count[i] = 1
      weights[i] = 1
    }
    return { start, count, weights, k: 1 }
  }
  const base = interp === 'bicubic' ? 2 : interp === 'lanczos' ? 3 : 1
  const filterScale = Math.max(scale, 1)
  const support = base * filterScale
  const k = Math.ceil(support) * 2 + 1
  const weights = new Float32Array(outSize * k)
  for (let i = 0; i < outSize; i++) {
    const center = b0 + (i + 0.5) * scale
    const lo = Math.max(Math.floor(center - support + 0.5), 0)
    const hi = Math.min(Math.floor(center + support + 0.5), inSize)
    let total = 0
    const n = Math.max(hi - lo, 0)
    for (let j = 0; j < n; j++) {
      const w = filterWeight((j + lo - center + 0.5) / filterScale, interp)
      weights[i * k + j] = w
      total += w
    }
    if (total !== 0) for (let j = 0; j < n; j++) weights[i * k + j] /= total
    start[i] = lo
    count[i] = n
  }
  return { start, count, weights, k }
}

/** Resample the box [x0, x1) x [y0, y1) of `img` to outW x outH (antialiased when shrinking, like PIL). */
export function resampleBox(img: FloatImage, x0: number, y0: number, x1: number, y1: number, outW: number, outH: number, interp: string): FloatImage {
  const { width: W, height: H, data: src } = img
  const wx = axisWeights(W, outW, x0, x1, interp)
  const wy = axisWeights(H, outH, y0, y1, interp)
  let rowLo = H
  let rowHi = 0
  for (let i = 0; i < outH; i++) {
    if (wy.count[i] === 0) continue
    rowLo = Math.min(rowLo, wy.start[i])
    rowHi = Math.max(rowHi, wy.start[i] + wy.count[i])
  }
  const rows = Math.max(rowHi - rowLo, 0)
  const tmp = new Float32Array(rows * outW * 3)
  for (let r = 0; r < rows; r++) {
    const srow = (r + rowLo) * W * 3
    for (let i = 0; i < outW; i++) {
      let s0 = 0
      let s1 = 0
      let s2 = 0
      const st = wx.start[i]
      for (let j = 0; j < wx.count[i]; j++) {
        const w = wx.weights[i * wx.k + j]
        const p = srow + (st + j) * 3
        s0 += w * src[p]
        s1 += w * src[p + 1]
        s2 += w * src[p + 2]
      }
      const q = (r * outW + i) * 3
      tmp[q] = s0
      tmp[q + 1] = s1
      tmp[q + 2] = s2
    }
  }
  const out = new Float32Array(outH * outW * 3)
  for (let i = 0; i < outH; i++) {
    const st = wy.start[i] - rowLo
    for (let x = 0; x < outW * 3; x++) {
      let s = 0
      for (let j = 0; j < wy.count[i]; j++) s += wy.weights[i * wy.k + j] * tmp[(st + j) * outW * 3 + x]
      out[i * outW * 3 + x] = s < 0 ? 0 : s > 255 ? 255 : s
    }
  }
  return { data: out, width: outW, height: outH }
}

/** [height, width] a size spec asks for; an int resizes the shorter side (torchvision Resize). */
export function targetSize(size: number | number[], width: number, height: number, shorterSide: boolean): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]]
  if (!shorterSide) return [size, size]
  if (width <= height) return [Math.floor((size * height) / width), size]
  return [size, Math.floor((size * width) / height)]
}

/** Crop (top, left, h, w); outside pixels come from padding ('constant' fill, 'edge', 'reflect'). */
export function crop(img: FloatImage, top: number, left: number, h: number, w: number, mode: string, fill: number): FloatImage {
  const { width: W, height: H, data: src } = img
  const out = new Float32Array(h * w * 3)
  function map(i: number, n: number): number {
    if (i >= 0 && i < n) return i
    if (mode === 'edge') return i < 0 ? 0 : n - 1
    if (mode === 'reflect' && n > 1) {
      const period = 2 * (n - 1)
      let m = ((i % period) + period) % period
      if (m >= n) m = period - m
      return m
    }
    return -1
  }
  for (let y = 0; y < h; y++) {
    const sy = map(top + y, H)
    for (let x = 0; x < w; x++) {
      const sx = map(left + x, W)
      const q = (y * w + x) * 3
      if (sy < 0 || sx < 0) {
        out[q] = fill
        out[q + 1] = fill
        out[q + 2] = fill
      } else {
        const p = (sy * W + sx) * 3
        out[q] = src[p]
        out[q + 1] = src[p + 1]
        out[q + 2] = src[p + 2]
      }
    }
  }
  return { data: out, width: w, height: h }
}

export function hflip(img: FloatImage): FloatImage {
  const { width: W, height: H, data: src } = img
  const out = new Float32Array(src.length)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = (y * W + x) * 3
      const q = (y * W + (W - 1 - x)) * 3
      out[q] = src[p]
      out[q + 1] = src[p + 1]
      out[q + 2] = src[p + 2]
    }
  }
  return { data: out, width: W, height: H }
}

/** torchvision ColorJitter: factors drawn for brightness, contrast, saturation, hue; applied in a random order. */
export function colorJitter(img: FloatImage, op: { brightness?: number; contrast?: number; saturation?: number; hue?: number }, rng: Rng): FloatImage {
  const order = [0, 1, 2, 3]
  for (let i = 3; i > 0; i--) {
    const j = rng.randint(0, i + 1)
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  function factor(v: number | undefined): number | null {
    return v ? rng.uniform(Math.max(0, 1 - v), 1 + v) : null
  }
  const b = factor(op.brightness)
  const c = factor(op.contrast)
  const s = factor(op.saturation)
  const h = op.hue ? rng.uniform(-op.hue, op.hue) : null
  const d = Float32Array.from(img.data)
  const n = img.width * img.height
  function clamp(v: number): number {
    return v < 0 ? 0 : v > 255 ? 255 : v
  }
  for (const k of order) {
    if (k === 0 && b !== null) for (let i = 0; i < d.length; i++) d[i] = clamp(d[i] * b)
    if (k === 1 && c !== null) {
      let mean = 0
      for (let i = 0; i < n; i++) mean += 0.2989 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2]
      mean /= n
      for (let i = 0; i < d.length; i++) d[i] = clamp(c * d[i] + (1 - c) * mean)
    }
    if (k === 2 && s !== null) {
      for (let i = 0; i < n; i++) {
        const g = 0.2989 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2]
        for (let ch = 0; ch < 3; ch++) d[3 * i + ch] = clamp(s * d[3 * i + ch] + (1 - s) * g)
      }
    }
    if (k === 3 && h !== null) {
      for (let i = 0; i < n; i++) {
        const r = d[3 * i] / 255
        const g = d[3 * i + 1] / 255
        const bl = d[3 * i + 2] / 255
        const mx = Math.max(r, g, bl)
        const mn = Math.min(r, g, bl)
        const delta = mx - mn
        let hue = 0
        if (delta > 0) {
          if (mx === r) hue = ((g - bl) / delta) % 6
          else if (mx === g) hue = (bl - r) / delta + 2
          else hue = (r - g) / delta + 4
          hue /= 6
        }
        hue = (((hue + h) % 1) + 1) % 1
        const sat = mx === 0 ? 0 : delta / mx
        const hh = hue * 6
        const sector = Math.floor(hh) % 6
        const f = hh - Math.floor(hh)
        const p = mx * (1 - sat) * 255
        const q = mx * (1 - sat * f) * 255
        const t = mx * (1 - sat * (1 - f)) * 255
        const v = mx * 255
        let o0 = v
        let o1 = t
        let o2 = p
        if (sector === 1) {
          o0 = q
          o1 = v
        } else if (sector === 2) {
          o0 = p
          o1 = v
          o2 = t
        } else if (sector === 3) {
          o0 = p
          o1 = q
          o2 = v
        } else if (sector === 4) {
          o0 = t
          o1 = p
          o2 = v
        } else if (sector === 5) {
          o1 = p
          o2 = q
        }
        d[3 * i] = o0
        d[3 * i + 1] = o1
        d[3 * i + 2] = o2
      }
    }
  }
  return { data: d, width: img.width, height: img.height }
}

/** torchvision RandomResizedCrop.get_params: [top, left, h, w]. */
export function rrcParams(W: number, H: number, scale: number[], ratio: number[], rng: Rng): [number, number, number, number] {
  const area = W * H
  const lr0 = Math.log(ratio[0])
  const lr1 = Math.log(ratio[1])
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1])
    const aspect = Math.exp(rng.uniform(lr0, lr1))
    const w = pyRound(Math.sqrt(target * aspect))
    const h = pyRound(Math.sqrt(target / aspect))
    if (w > 0 && w <= W && h > 0 && h <= H) return [randIndex(rng, H - h + 1), randIndex(rng, W - w + 1), h, w]
  }
  const inRatio = W / H
  let w = W
  let h = H
  if (inRatio < ratio[0]) h = pyRound(w / ratio[0])
  else if (inRatio > ratio[1]) w = pyRound(h * ratio[1])
  return [Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w]
}

/** Apply one transform op (the random ones draw from `rng`). */
export function applyOp(img: FloatImage, op: TransformOp, rng: Rng): FloatImage {
  const { width: W, height: H } = img
  switch (op.op) {
    case 'resize': {
      const [th, tw] = targetSize(op.size, W, H, true)
      if (th === H && tw === W) return img
      return resampleBox(img, 0, 0, W, H, tw, th, op.interpolation || 'bilinear')
    }
    case 'centerCrop': {
      const [th, tw] = targetSize(op.size, W, H, false)
      return crop(img, pyRound((H - th) / 2), pyRound((W - tw) / 2), th, tw, 'constant', 0)
    }
    case 'randomCrop': {
      const [th, tw] = targetSize(op.size, W, H, false)
      const pad = op.padding === undefined ? [0, 0] : typeof op.padding === 'number' ? [op.padding, op.padding] : op.padding
      const pw = W + 2 * pad[0]
      const ph = H + 2 * pad[1]
      const i = ph > th ? rng.randint(0, ph - th + 1) : 0
      const j = pw > tw ? rng.randint(0, pw - tw + 1) : 0
      return crop(img, i - pad[1], j - pad[0], th, tw, op.paddingMode || 'constant', op.fill || 0)
    }
    case 'randomResizedCrop': {
      const [th, tw] = targetSize(op.size, W, H, false)
      const [top, left, h, w] = rrcParams(W, H, op.scale || [0.08, 1], op.ratio || [3 / 4, 4 / 3], rng)
      return resampleBox(img, left, top, left + w, top + h, tw, th, 'bilinear')
    }
    case 'horizontalFlip':
      return rng.random() < (op.p === undefined ? 0.5 : op.p) ? hflip(img) : img
    case 'colorJitter':
      return colorJitter(img, op, rng)
    default:
      throw new Error(`unknown transform op ${JSON.stringify(op)}`)
  }
}

export function applyOps(img: FloatImage, ops: TransformOp[], rng: Rng): FloatImage {
  let out = img
  for (const op of ops) out = applyOp(out, op, rng)
  return out
}

/** Write (pixel / 255 - mean) / std into `out` at `offset` (HWC). */
export function normalizeInto(img: FloatImage, out: Float32Array, offset: number, mean: number[], std: number[]): void {
  const a0 = 1 / (255 * std[0])
  const a1 = 1 / (255 * std[1])
  const a2 = 1 / (255 * std[2])
  const b0 = -mean[0] / std[0]
  const b1 = -mean[1] / std[1]
  const b2 = -mean[2] / std[2]
  const d = img.data
  const n = img.width * img.height
  for (let i = 0; i < n; i++) {
    out[offset + 3 * i] = d[3 * i] * a0 + b0
    out[offset + 3 * i + 1] = d[3 * i + 1] * a1 + b1
    out[offset + 3 * i + 2] = d[3 * i + 2] * a2 + b2
  }
}

/** A checksum of every op on a synthetic image: a data worker reports it at start-up, so a worker built from
 *  other sources than the engine (a stale out/main) is refused. */
export function selfTest(): number {
  const src = new Uint8Array(11 * 9 * 3)
  for (let i = 0; i < src.length; i++) src[i] = (i * 37 + 11) % 256
  const img = toFloatRgb(src, 11, 9, 3)
  const ops: TransformOp[] = [
    { op: 'resize', size: 12, interpolation: 'bicubic' },
    { op: 'randomResizedCrop', size: 10 },
    { op: 'randomCrop', size: 10, padding: 2, paddingMode: 'reflect' },
    { op: 'centerCrop', size: [8, 7] },
    { op: 'horizontalFlip', p: 1 },
    { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
  ]
  const out = applyOps(img, ops, Rng.fromState([1, 2, 3, 4]))
  let sum = 0
  for (let i = 0; i < out.data.length; i++) sum += out.data[i] * ((i % 7) + 1)
  return Math.round(sum * 1000) / 1000
}
