/**
 * Image operations behind the corruptions, each a port of the library call Hendrycks & Dietterich's reference
 * scripts (make_cifar_c.py, make_imagenet_c.py) make: skimage/scipy gaussian filters, OpenCV filter2D,
 * GaussianBlur and warpAffine (BORDER_REFLECT_101), scipy zoom / map_coordinates (order 1), ImageMagick's
 * motion blur, PIL's BOX resize, the diamond-square plasma fractal. Images are float HWC planes.
 * Written for 224-256 px images as well as 32 px ones: 1-D filters fold their taps per output index (a kernel
 * longer than the image side, e.g. elastic's sigma = 171 px with 1,025 taps, costs at most one image side per
 * pixel), 2-D filters and motion blur run tap by tap over a padded copy, zooms precompute their sample
 * positions per axis.
 *
 * Longer than 400 lines on purpose: every image operation the 15 corruptions need, one implementation each,
 * sharing the border rules and padded-copy helpers; catalog.ts composes them per corruption.
 */
import type { Rng } from '../../../../shared/random'

/** A float image, HWC, `c` channels (values on whatever scale the caller uses). */
export interface FImage {
  data: Float32Array
  width: number
  height: number
  channels: number
}

export function fimage(width: number, height: number, channels: number, data?: Float32Array): FImage {
  return { data: data ?? new Float32Array(width * height * channels), width, height, channels }
}

export const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v)

/** OpenCV BORDER_REFLECT_101: gfedcb|abcdefgh|gfedcba */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0
  const p = 2 * (n - 1)
  i = ((i % p) + p) % p
  return i < n ? i : p - i
}

/** scipy 'reflect' (half-sample symmetric): dcba|abcd|dcba */
export function reflectHalf(i: number, n: number): number {
  const p = 2 * n
  i = ((i % p) + p) % p
  return i < n ? i : p - 1 - i
}

export const nearest = (i: number, n: number): number => (i < 0 ? 0 : i >= n ? n - 1 : i)

type Border = (i: number, n: number) => number

/** Eight taps i..i+7 at once: acc[dst + t] += sum_k w[k] * src[base + off[k] + t] for t < n. */
function accumulateRow8(acc: Float64Array, dst: number, src: Float32Array, base: number, off: Int32Array, w: Float64Array, i: number, n: number): void {
  const a = base + off[i]
  const b = base + off[i + 1]
  const c = base + off[i + 2]
  const d = base + off[i + 3]
  const e = base + off[i + 4]
  const f = base + off[i + 5]
  const g = base + off[i + 6]
  const h = base + off[i + 7]
  const wa = w[i]
  const wb = w[i + 1]
  const wc = w[i + 2]
  const wd = w[i + 3]
  const we = w[i + 4]
  const wf = w[i + 5]
  const wg = w[i + 6]
  const wh = w[i + 7]
  for (let t = 0; t < n; t++) {
    acc[dst + t] += wa * src[a + t] + wb * src[b + t] + wc * src[c + t] + wd * src[d + t] + we * src[e + t] + wf * src[f + t] + wg * src[g + t] + wh * src[h + t]
  }
}

/** Four taps i..i+3 at once: acc[dst + t] += sum_k w[k] * src[base + off[k] + t] for t < n. */
function accumulateRow4(acc: Float64Array, dst: number, src: Float32Array, base: number, off: Int32Array, w: Float64Array, i: number, n: number): void {
  const a = base + off[i]
  const b = base + off[i + 1]
  const c = base + off[i + 2]
  const d = base + off[i + 3]
  const wa = w[i]
  const wb = w[i + 1]
  const wc = w[i + 2]
  const wd = w[i + 3]
  for (let t = 0; t < n; t++) acc[dst + t] += wa * src[a + t] + wb * src[b + t] + wc * src[c + t] + wd * src[d + t]
}

/** acc[dst + t] += w * src[from + t] for t < n (a small monomorphic hot loop). */
function accumulateRow(acc: Float64Array, dst: number, src: Float32Array, from: number, n: number, w: number): void {
  for (let t = 0; t < n; t++) acc[dst + t] += w * src[from + t]
}

/** Sum over i < n of w[i] * src[off[i] + t] into acc[t], t < row (eight, then four, then single taps at a time). */
function accumulateTaps(acc: Float64Array, src: Float32Array, off: Int32Array, w: Float64Array, n: number, row: number): void {
  let i = 0
  for (; i + 8 <= n; i += 8) accumulateRow8(acc, 0, src, 0, off, w, i, row)
  for (; i + 4 <= n; i += 4) accumulateRow4(acc, 0, src, 0, off, w, i, row)
  for (; i < n; i++) accumulateRow(acc, 0, src, off[i], row, w[i])
}

/**
 * The taps of a centred 1-D kernel for every output index of an axis of length n, folded onto the valid input
 * indices by `border` (several taps can land on one index: kernels longer than the axis, reflections at the
 * edges). Output o reads w[o * stride + j] * in[lo[o] + j] for j < len[o].
 */
function axisTaps(kernel: Float64Array, n: number, border: Border): { lo: Int32Array; len: Int32Array; w: Float64Array; stride: number } {
  const L = kernel.length
  const r = (L - 1) / 2
  const stride = Math.min(L, n)
  const lo = new Int32Array(n)
  const len = new Int32Array(n)
  const w = new Float64Array(n * stride)
  for (let o = 0; o < n; o++) {
    let a = n
    let b = -1
    for (let k = 0; k < L; k++) {
      const i = border(o + k - r, n)
      if (i < a) a = i
      if (i > b) b = i
    }
    lo[o] = a
    len[o] = b - a + 1
    for (let k = 0; k < L; k++) w[o * stride + border(o + k - r, n) - a] += kernel[k]
  }
  return { lo, len, w, stride }
}

/** Rows and columns swapped (channels kept together). */
function transpose(img: FImage): FImage {
  const { width: W, height: H, channels: C, data } = img
  const out = fimage(H, W, C)
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) out.data[(x * H + y) * C + c] = data[(y * W + x) * C + c]
  return out
}

/** 1-D correlation of every channel along one axis with a centred odd kernel (any length: taps are folded). */
function filterAxis(img: FImage, kernel: Float64Array, axis: 'x' | 'y', border: Border): FImage {
  // along x: transpose, filter the rows' neighbours (contiguous row updates), transpose back
  if (axis === 'x') return transpose(filterAxis(transpose(img), kernel, 'y', border))
  const { width: W, height: H, channels: C, data } = img
  const out = fimage(W, H, C)
  const { lo, len, w, stride } = axisTaps(kernel, H, border)
  const row = W * C
  const acc = new Float64Array(row)
  const off = new Int32Array(stride)
  for (let y = 0; y < H; y++) {
    for (let j = 0; j < len[y]; j++) off[j] = (lo[y] + j) * row
    acc.fill(0)
    accumulateTaps(acc, data, off, w.subarray(y * stride, (y + 1) * stride), len[y], row)
    out.data.set(acc, y * row)
  }
  return out
}

/** scipy.ndimage.gaussian_filter per channel (as skimage.filters.gaussian; default mode 'nearest', truncate 4). */
export function gaussianFilter(img: FImage, sigma: number, mode: 'nearest' | 'reflect' = 'nearest', truncate = 4): FImage {
  const r = Math.floor(truncate * sigma + 0.5)
  if (r === 0) return fimage(img.width, img.height, img.channels, Float32Array.from(img.data))
  const k = new Float64Array(2 * r + 1)
  let s = 0
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma))
  for (let i = 0; i < k.length; i++) k[i] /= s
  const border = mode === 'nearest' ? nearest : reflectHalf
  return filterAxis(filterAxis(img, k, 'y', border), k, 'x', border)
}

/** cv2.getGaussianKernel(ksize, sigma) for sigma > 0. */
export function cvGaussianKernel(ksize: number, sigma: number): Float64Array {
  const k = new Float64Array(ksize)
  let s = 0
  for (let i = 0; i < ksize; i++) {
    const d = i - (ksize - 1) / 2
    s += k[i] = Math.exp(-(d * d) / (2 * sigma * sigma))
  }
  for (let i = 0; i < ksize; i++) k[i] /= s
  return k
}

/** A copy of `img` padded by `py` rows and `px` columns on each side, outside pixels given by `border`. */
function padImage(img: FImage, py: number, px: number, border: Border): FImage {
  const { width: W, height: H, channels: C, data } = img
  const PW = W + 2 * px
  const PH = H + 2 * py
  const out = fimage(PW, PH, C)
  for (let y = 0; y < PH; y++) {
    const sy = border(y - py, H)
    for (let x = 0; x < PW; x++) {
      const src = (sy * W + border(x - px, W)) * C
      const dst = (y * PW + x) * C
      for (let c = 0; c < C; c++) out.data[dst + c] = data[src + c]
    }
  }
  return out
}

/**
 * Sum of shifted, weighted copies of an image: out(y, x) = sum_i w[i] * img(y + dy[i], x + dx[i]), outside
 * pixels from `border` (one padded copy, then per output row contiguous multiply-adds, eight taps at a time).
 */
function shiftedSum(img: FImage, taps: { dy: number; dx: number; w: number }[], border: Border): Float64Array {
  const { width: W, height: H, channels: C } = img
  let py = 0
  let px = 0
  for (const t of taps) {
    py = Math.max(py, Math.abs(t.dy))
    px = Math.max(px, Math.abs(t.dx))
  }
  const pad = padImage(img, py, px, border)
  const PW = pad.width
  const pd = pad.data
  const acc = new Float64Array(W * H * C)
  const row = W * C
  const n = taps.length
  const off = Int32Array.from(taps, (t) => ((py + t.dy) * PW + px + t.dx) * C)
  const ws = Float64Array.from(taps, (t) => t.w)
  for (let y = 0; y < H; y++) {
    const base = y * PW * C
    const dst = y * row
    let i = 0
    for (; i + 8 <= n; i += 8) accumulateRow8(acc, dst, pd, base, off, ws, i, row)
    for (; i + 4 <= n; i += 4) accumulateRow4(acc, dst, pd, base, off, ws, i, row)
    for (; i < n; i++) accumulateRow(acc, dst, pd, base + off[i], row, ws[i])
  }
  return acc
}

/** cv2.filter2D (correlation, anchor at the centre, BORDER_REFLECT_101) of every channel with a k x k kernel. */
export function filter2D(img: FImage, kernel: Float64Array, ksize: number): FImage {
  const r = (ksize - 1) / 2
  const taps: { dy: number; dx: number; w: number }[] = []
  for (let ky = 0; ky < ksize; ky++)
    for (let kx = 0; kx < ksize; kx++) {
      const w = kernel[ky * ksize + kx]
      if (w !== 0) taps.push({ dy: ky - r, dx: kx - r, w })
    }
  return fimage(img.width, img.height, img.channels, Float32Array.from(shiftedSum(img, taps, reflect101)))
}

/** The reference's disk(radius, alias_blur): an aliased disk, normalised, then cv2.GaussianBlur (3x3 or 5x5). */
export function diskKernel(radius: number, aliasBlur: number): { kernel: Float64Array; ksize: number } {
  const R = radius <= 8 ? 8 : Math.ceil(radius)
  const gk = radius <= 8 ? 3 : 5
  const n = 2 * R + 1
  const disk = new Float64Array(n * n)
  let s = 0
  for (let y = -R; y <= R; y++) for (let x = -R; x <= R; x++) if (x * x + y * y <= radius * radius) s += disk[(y + R) * n + x + R] = 1
  for (let i = 0; i < disk.length; i++) disk[i] /= s
  const g = cvGaussianKernel(gk, aliasBlur)
  const blurred = filterSeparable(disk, n, g)
  return { kernel: Float64Array.from(blurred.data), ksize: n }
}

/** Separable blur of an n x n single-channel array with kernel g (BORDER_REFLECT_101), as one FImage. */
function filterSeparable(a: Float64Array, n: number, g: Float64Array): FImage {
  const img = fimage(n, n, 1, Float32Array.from(a))
  return filterAxis(filterAxis(img, g, 'y', reflect101), g, 'x', reflect101)
}

/** Bilinear sample of channel c at (y, x) with a border rule for the integer neighbours. */
export function sampleBilinear(img: FImage, y: number, x: number, c: number, border: Border): number {
  const { width: W, height: H, channels: C, data } = img
  const y0 = Math.floor(y)
  const x0 = Math.floor(x)
  const fy = y - y0
  const fx = x - x0
  const ya = border(y0, H)
  const yb = border(y0 + 1, H)
  const xa = border(x0, W)
  const xb = border(x0 + 1, W)
  const p = (yy: number, xx: number): number => data[(yy * W + xx) * C + c]
  return (1 - fy) * ((1 - fx) * p(ya, xa) + fx * p(ya, xb)) + fy * ((1 - fx) * p(yb, xa) + fx * p(yb, xb))
}

/** sampleBilinear of every channel at (y, x), written to out[o], out[o + 1], ... */
export function sampleBilinearInto(img: FImage, y: number, x: number, border: Border, out: Float32Array | Float64Array, o: number): void {
  const { width: W, height: H, channels: C, data } = img
  const y0 = Math.floor(y)
  const x0 = Math.floor(x)
  const fy = y - y0
  const fx = x - x0
  const ra = border(y0, H) * W
  const rb = border(y0 + 1, H) * W
  const xa = border(x0, W)
  const xb = border(x0 + 1, W)
  const pa = (ra + xa) * C
  const pb = (ra + xb) * C
  const qa = (rb + xa) * C
  const qb = (rb + xb) * C
  for (let c = 0; c < C; c++) out[o + c] = (1 - fy) * ((1 - fx) * data[pa + c] + fx * data[pb + c]) + fy * ((1 - fx) * data[qa + c] + fx * data[qb + c])
}

/**
 * Bilinear sampling positions along one axis: output i reads input coordinate (i + offset) * scale, i.e. the
 * neighbours a[i], b[i] (already passed through `border`) with weight f[i] on b[i]; as sampleBilinear.
 */
function linearAxis(count: number, offset: number, scale: number, n: number, border: Border): { a: Int32Array; b: Int32Array; f: Float64Array } {
  const a = new Int32Array(count)
  const b = new Int32Array(count)
  const f = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const v = (i + offset) * scale
    const v0 = Math.floor(v)
    f[i] = v - v0
    a[i] = border(v0, n)
    b[i] = border(v0 + 1, n)
  }
  return { a, b, f }
}

/** Separable bilinear resampling: out(y, x) reads img at rows (ay, by, fy) and columns (ax, bx, fx). */
function resampleSeparable(img: FImage, ys: ReturnType<typeof linearAxis>, xs: ReturnType<typeof linearAxis>, rowOffset = 0, colOffset = 0): FImage {
  const { width: W, channels: C, data } = img
  const oh = ys.a.length
  const ow = xs.a.length
  const out = fimage(ow, oh, C)
  for (let y = 0; y < oh; y++) {
    const fy = ys.f[y]
    const ra = (ys.a[y] + rowOffset) * W
    const rb = (ys.b[y] + rowOffset) * W
    for (let x = 0; x < ow; x++) {
      const fx = xs.f[x]
      const xa = xs.a[x] + colOffset
      const xb = xs.b[x] + colOffset
      const pa = (ra + xa) * C
      const pb = (ra + xb) * C
      const qa = (rb + xa) * C
      const qb = (rb + xb) * C
      const o = (y * ow + x) * C
      for (let c = 0; c < C; c++) {
        out.data[o + c] = (1 - fy) * ((1 - fx) * data[pa + c] + fx * data[pb + c]) + fy * ((1 - fx) * data[qa + c] + fx * data[qb + c])
      }
    }
  }
  return out
}

/** scipy.ndimage.zoom(order=1) of the rows and columns (channels untouched); output size round(n * z). */
export function zoomBilinear(img: FImage, zy: number, zx: number): FImage {
  const oh = Math.round(img.height * zy)
  const ow = Math.round(img.width * zx)
  const sy = oh > 1 ? (img.height - 1) / (oh - 1) : 0
  const sx = ow > 1 ? (img.width - 1) / (ow - 1) : 0
  return resampleSeparable(img, linearAxis(oh, 0, sy, img.height, nearest), linearAxis(ow, 0, sx, img.width, nearest))
}

/** Crop [top, top + h) x [left, left + w). */
export function crop(img: FImage, top: number, left: number, h: number, w: number): FImage {
  const out = fimage(w, h, img.channels)
  for (let y = 0; y < h; y++) {
    const src = ((top + y) * img.width + left) * img.channels
    out.data.set(img.data.subarray(src, src + w * img.channels), y * w * img.channels)
  }
  return out
}

/**
 * The reference's clipped_zoom: centre crop of ceil(n / z), zoom by z, trim back to n (per axis); computed
 * directly on the output grid (same samples as crop + zoomBilinear + crop, without the full zoomed image).
 */
export function clippedZoom(img: FImage, z: number): FImage {
  const axis = (n: number): { start: number; taps: ReturnType<typeof linearAxis> } => {
    const cn = Math.ceil(n / z)
    const start = Math.floor((n - cn) / 2)
    const on = Math.round(cn * z)
    const scale = on > 1 ? (cn - 1) / (on - 1) : 0
    return { start, taps: linearAxis(n, Math.floor((on - n) / 2), scale, cn, nearest) }
  }
  const ys = axis(img.height)
  const xs = axis(img.width)
  return resampleSeparable(img, ys.taps, xs.taps, ys.start, xs.start)
}

/**
 * ImageMagick MotionBlurImage(radius, sigma, angle): a one-sided Gaussian (width 2*ceil(radius)+1,
 * weights exp(-i^2 / 2 sigma^2), normalised) along the direction `angle` (degrees), edge virtual pixels.
 */
export function motionBlur(img: FImage, radius: number, sigma: number, angle: number): FImage {
  const width = 2 * Math.ceil(radius) + 1
  const k = new Float64Array(width)
  let s = 0
  for (let i = 0; i < width; i++) s += k[i] = Math.exp(-(i * i) / (2 * sigma * sigma))
  const px = width * Math.sin((angle * Math.PI) / 180)
  const py = width * Math.cos((angle * Math.PI) / 180)
  const hyp = Math.hypot(px, py)
  const taps = Array.from({ length: width }, (_, i) => ({ dy: Math.round((i * px) / hyp), dx: Math.round((i * py) / hyp), w: k[i] }))
  const acc = shiftedSum(img, taps, nearest)
  const out = fimage(img.width, img.height, img.channels)
  for (let i = 0; i < acc.length; i++) out.data[i] = acc[i] / s
  return out
}

/** PIL Image.resize(..., BOX) of a float image (area averaging when shrinking, nearest-like when growing). */
export function resizeBox(img: FImage, ow: number, oh: number): FImage {
  const weights = (inSize: number, outSize: number): { lo: number; w: Float64Array }[] => {
    const scale = inSize / outSize
    const fs = Math.max(scale, 1)
    const support = 0.5 * fs
    return Array.from({ length: outSize }, (_, o) => {
      const center = (o + 0.5) * scale
      const lo = Math.max(Math.trunc(center - support + 0.5), 0)
      const hi = Math.min(Math.trunc(center + support + 0.5), inSize)
      const w = new Float64Array(hi - lo)
      let s = 0
      for (let i = 0; i < w.length; i++) {
        const t = (i + lo - center + 0.5) / fs
        s += w[i] = t >= -0.5 && t < 0.5 ? 1 : 0
      }
      for (let i = 0; i < w.length; i++) w[i] = s > 0 ? w[i] / s : 0
      return { lo, w }
    })
  }
  const C = img.channels
  const wx = weights(img.width, ow)
  const wy = weights(img.height, oh)
  const mid = fimage(ow, img.height, C)
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < C; c++) {
        let v = 0
        wx[x].w.forEach((w, i) => (v += w * img.data[(y * img.width + wx[x].lo + i) * C + c]))
        mid.data[(y * ow + x) * C + c] = Math.round(v) // PIL keeps 8-bit between the passes
      }
  const out = fimage(ow, oh, C)
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < C; c++) {
        let v = 0
        wy[y].w.forEach((w, i) => (v += w * mid.data[((wy[y].lo + i) * ow + x) * C + c]))
        out.data[(y * ow + x) * C + c] = Math.round(v)
      }
  return out
}

/** np.roll(a, shift, axis) of a square k x k grid. */
function roll(a: Float64Array, k: number, shift: number, axis: 0 | 1): Float64Array {
  const out = new Float64Array(k * k)
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const si = axis === 0 ? (((i - shift) % k) + k) % k : i
      const sj = axis === 1 ? (((j - shift) % k) + k) % k : j
      out[i * k + j] = a[si * k + sj]
    }
  return out
}

/** The reference's plasma_fractal (diamond-square height map), mapsize a power of two, values in [0, 1]. */
export function plasmaFractal(mapsize: number, wibbledecay: number, rng: Rng): Float64Array {
  if ((mapsize & (mapsize - 1)) !== 0) throw new Error(`plasmaFractal: mapsize ${mapsize} is not a power of two`)
  const m = new Float64Array(mapsize * mapsize)
  let step = mapsize
  let wibble = 100
  const get = (r0: number, c0: number): { k: number; a: Float64Array } => {
    const k = Math.ceil((mapsize - r0) / step)
    const a = new Float64Array(k * k)
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) a[i * k + j] = m[(r0 + i * step) * mapsize + c0 + j * step]
    return { k, a }
  }
  const set = (r0: number, c0: number, k: number, a: Float64Array): void => {
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) m[(r0 + i * step) * mapsize + c0 + j * step] = a[i * k + j] / 4 + wibble * rng.uniform(-wibble, wibble)
  }
  while (step >= 2) {
    const half = step / 2
    // squares
    const { k, a: corner } = get(0, 0)
    const cornerR0 = roll(corner, k, -1, 0)
    let sq = corner.map((v, i) => v + cornerR0[i])
    const sqr = roll(sq, k, -1, 1)
    sq = sq.map((v, i) => v + sqr[i])
    set(half, half, k, sq)
    // diamonds
    const dr = get(half, half).a
    const ul = get(0, 0).a
    const drR0 = roll(dr, k, 1, 0)
    const ulR1 = roll(ul, k, -1, 1)
    set(0, half, k, dr.map((v, i) => v + drR0[i] + ul[i] + ulR1[i]))
    const drR1 = roll(dr, k, 1, 1)
    const ulR0 = roll(ul, k, -1, 0)
    set(half, 0, k, dr.map((v, i) => v + drR1[i] + ul[i] + ulR0[i]))
    step = half
    wibble /= wibbledecay
  }
  let lo = Infinity
  for (const v of m) lo = Math.min(lo, v)
  let hi = -Infinity
  for (let i = 0; i < m.length; i++) hi = Math.max(hi, (m[i] -= lo))
  for (let i = 0; i < m.length; i++) m[i] = hi > 0 ? m[i] / hi : 0
  return m
}

/** cv2.getAffineTransform: the 2x3 matrix mapping three (x, y) points `src` onto `dst`. */
export function affineFromPoints(src: number[][], dst: number[][]): number[] {
  const [[x0, y0], [x1, y1], [x2, y2]] = src
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1)
  if (Math.abs(det) < 1e-12) throw new Error('affineFromPoints: the source points are collinear')
  const solve = (v0: number, v1: number, v2: number): [number, number, number] => [
    (v0 * (y1 - y2) - y0 * (v1 - v2) + (v1 * y2 - v2 * y1)) / det,
    (x0 * (v1 - v2) - v0 * (x1 - x2) + (x1 * v2 - x2 * v1)) / det,
    (x0 * (y1 * v2 - y2 * v1) - y0 * (x1 * v2 - x2 * v1) + v0 * (x1 * y2 - x2 * y1)) / det,
  ]
  return [...solve(dst[0][0], dst[1][0], dst[2][0]), ...solve(dst[0][1], dst[1][1], dst[2][1])]
}

/** cv2.warpAffine(img, M, (W, H), INTER_LINEAR, BORDER_REFLECT_101): dst(x, y) = src(M^-1 (x, y)). */
export function warpAffine(img: FImage, M: number[]): FImage {
  const [a, b, tx, c, d, ty] = M
  const det = a * d - b * c
  const ia = d / det
  const ib = -b / det
  const ic = -c / det
  const id = a / det
  const out = fimage(img.width, img.height, img.channels)
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const sx = ia * (x - tx) + ib * (y - ty)
      const sy = ic * (x - tx) + id * (y - ty)
      sampleBilinearInto(img, sy, sx, reflect101, out.data, (y * img.width + x) * img.channels)
    }
  return out
}

/** Rec. 601 luma (cv2.COLOR_RGB2GRAY) of a 3-channel image, as a 1-channel image. */
export function toGray(img: FImage): FImage {
  const out = fimage(img.width, img.height, 1)
  for (let i = 0; i < out.data.length; i++) out.data[i] = 0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2]
  return out
}

/** log Gamma (Lanczos, g = 7), for the Poisson sampler. */
function lgamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x)
  x -= 1
  let a = g[0]
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += g[i] / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** A Poisson deviate (numpy's algorithms: multiplication for lam < 10, PTRS rejection above). */
export function poisson(rng: Rng, lam: number): number {
  if (lam <= 0) return 0
  if (lam < 10) {
    const L = Math.exp(-lam)
    let k = 0
    let p = rng.random()
    while (p > L) {
      k++
      p *= rng.random()
    }
    return k
  }
  const slam = Math.sqrt(lam)
  const loglam = Math.log(lam)
  const b = 0.931 + 2.53 * slam
  const a = -0.059 + 0.02483 * b
  const invalpha = 1.1239 + 1.1328 / (b - 3.4)
  const vr = 0.9277 - 3.6224 / (b - 2)
  for (;;) {
    const U = rng.random() - 0.5
    const V = rng.random()
    const us = 0.5 - Math.abs(U)
    const k = Math.floor(((2 * a) / us + b) * U + lam + 0.43)
    if (us >= 0.07 && V <= vr) return k
    if (k < 0 || (us < 0.013 && V > us)) continue
    if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lam + k * loglam - lgamma(k + 1)) return k
  }
}
