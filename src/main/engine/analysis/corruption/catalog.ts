/**
 * The 14 pixel-level corruptions of Hendrycks & Dietterich (JPEG lives in ../corruptions.ts: it needs sharp),
 * ported from their reference scripts, in two families of constants: CIFAR-10-C's (make_cifar_c.py, written for
 * 32x32 images) and ImageNet-C's (make_imagenet_c.py, written for 224x224 centre crops of images whose short
 * side was resized to 256). The constants below are the scripts' own, severity 1..5; they are pixel
 * quantities (blur radii, displacements, zoom factors), so each family is meant for images near its own
 * resolution (../corruptions.ts picks the family from the image size). Each corruption takes RGB in [0, 1]
 * (HWC) and returns RGB on the 0..255 scale (the caller clips and truncates to uint8 as the reference's
 * np.uint8 does). Randomness comes from the given seeded Rng (not numpy's stream, so pixels differ from the
 * released files while the distributions match). Where the scripts hard-code their image size (glass blur's
 * loop bounds, fog's crop of the plasma map, snow's reshape), the image's own size is used. Frost uses a
 * procedurally generated texture for both families (see frostTexture); snow's flakes are procedural in the
 * reference too.
 */
import type { Rng } from '../../../../shared/random'
import {
  clippedZoom, diskKernel, fimage, filter2D, gaussianFilter, motionBlur, plasmaFractal, poisson, resizeBox, toGray, warpAffine,
  affineFromPoints, sampleBilinearInto, reflectHalf, type FImage,
} from './ops'

/** Which reference script's constants: make_cifar_c.py ('cifar', 32 px) or make_imagenet_c.py ('imagenet', 224/256 px). */
export type CorruptionFamily = 'cifar' | 'imagenet'
export const CORRUPTION_FAMILIES: readonly CorruptionFamily[] = ['cifar', 'imagenet']

type PerSeverity<T> = readonly [T, T, T, T, T]
type Table<T> = Readonly<Record<CorruptionFamily, PerSeverity<T>>>
const times = <T extends readonly number[]>(rows: PerSeverity<T>, k: number): PerSeverity<number[]> =>
  rows.map((r) => r.map((v) => v * k)) as unknown as PerSeverity<number[]>

/**
 * The reference scripts' constants per corruption, family and severity (1..5), in the scripts' own order
 * of parameters. Elastic: (alpha, sigma, affine) = IMSIZE * (...) with IMSIZE = 32 (CIFAR) and, as the
 * ImageNet script writes it, 244 * (...) ("244 should have been 224, but ultimately nothing is incorrect").
 * Zoom blur: numpy arange(start, stop, step) of zoom factors.
 */
export const CORRUPTION_CONSTANTS = {
  gaussian_noise: { cifar: [0.04, 0.06, 0.08, 0.09, 0.1], imagenet: [0.08, 0.12, 0.18, 0.26, 0.38] } as Table<number>,
  shot_noise: { cifar: [500, 250, 100, 75, 50], imagenet: [60, 25, 12, 5, 3] } as Table<number>,
  impulse_noise: { cifar: [0.01, 0.02, 0.03, 0.05, 0.07], imagenet: [0.03, 0.06, 0.09, 0.17, 0.27] } as Table<number>,
  /** (radius, alias_blur) */
  defocus_blur: {
    cifar: [[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]],
    imagenet: [[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]],
  } as Table<readonly number[]>,
  /** (sigma, max_delta, iterations) */
  glass_blur: {
    cifar: [[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]],
    imagenet: [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]],
  } as Table<readonly number[]>,
  /** (radius, sigma) of ImageMagick's motion blur */
  motion_blur: {
    cifar: [[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]],
    imagenet: [[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]],
  } as Table<readonly number[]>,
  /** arange(start, stop, step) of zoom factors */
  zoom_blur: {
    cifar: [[1, 1.06, 0.01], [1, 1.11, 0.01], [1, 1.16, 0.01], [1, 1.21, 0.01], [1, 1.26, 0.01]],
    imagenet: [[1, 1.11, 0.01], [1, 1.16, 0.01], [1, 1.21, 0.02], [1, 1.26, 0.02], [1, 1.31, 0.03]],
  } as Table<readonly number[]>,
  /** (loc, scale, zoom, threshold, blur radius, blur sigma, blend) */
  snow: {
    cifar: [[0.1, 0.2, 1, 0.6, 8, 3, 0.95], [0.1, 0.2, 1, 0.5, 10, 4, 0.9], [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9], [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85], [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8]],
    imagenet: [[0.1, 0.3, 3, 0.5, 10, 4, 0.8], [0.2, 0.3, 2, 0.5, 12, 4, 0.7], [0.55, 0.3, 4, 0.9, 12, 8, 0.7], [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65], [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55]],
  } as Table<readonly number[]>,
  /** (image weight, frost weight) */
  frost: {
    cifar: [[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]],
    imagenet: [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]],
  } as Table<readonly number[]>,
  /** (strength, wibble decay) */
  fog: {
    cifar: [[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]],
    imagenet: [[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]],
  } as Table<readonly number[]>,
  brightness: { cifar: [0.05, 0.1, 0.15, 0.2, 0.3], imagenet: [0.1, 0.2, 0.3, 0.4, 0.5] } as Table<number>,
  contrast: { cifar: [0.75, 0.5, 0.4, 0.3, 0.15], imagenet: [0.4, 0.3, 0.2, 0.1, 0.05] } as Table<number>,
  /** (alpha, sigma, affine) in pixels */
  elastic_transform: {
    cifar: times([[0, 0, 0.08], [0.05, 0.2, 0.07], [0.08, 0.06, 0.06], [0.1, 0.04, 0.05], [0.1, 0.03, 0.03]], 32),
    imagenet: times([[2, 0.7, 0.1], [2, 0.08, 0.2], [0.05, 0.01, 0.02], [0.07, 0.01, 0.02], [0.12, 0.01, 0.02]], 244),
  } as Table<readonly number[]>,
  /** fraction of the size to shrink to (BOX) before growing back */
  pixelate: { cifar: [0.95, 0.9, 0.85, 0.75, 0.65], imagenet: [0.6, 0.5, 0.4, 0.3, 0.25] } as Table<number>,
  /** JPEG quality (applied in ../corruptions.ts) */
  jpeg_compression: { cifar: [80, 65, 58, 50, 40], imagenet: [25, 18, 15, 10, 7] } as Table<number>,
} as const

/**
 * Side of the fog's plasma map: the scripts' plasma_fractal(mapsize=32) and (mapsize=256), cropped to the
 * image there; here tiled when the image is larger (the map is periodic: the diamond-square steps wrap
 * around with np.roll), so the fog keeps the reference's spatial scale at any size.
 */
export const FOG_MAPSIZE: Record<CorruptionFamily, number> = { cifar: 32, imagenet: 256 }

export type PixelCorruption = (x: FImage, severity: number, rng: Rng, family: CorruptionFamily) => FImage

const T = CORRUPTION_CONSTANTS
const pick = <V>(table: Table<V>, family: CorruptionFamily, severity: number): V => table[family][severity - 1]
const map255 = (x: FImage, f: (v: number, i: number) => number): FImage => fimage(x.width, x.height, x.channels, x.data.map((v, i) => f(v, i) * 255))
const clip01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v)

/** numpy arange(start, stop, step) */
function arange(start: number, stop: number, step: number): number[] {
  return Array.from({ length: Math.max(0, Math.ceil((stop - start) / step)) }, (_, i) => start + i * step)
}

function gaussianNoise(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const c = pick(T.gaussian_noise, f, s)
  return map255(x, (v) => clip01(v + rng.normal(0, c)))
}

function shotNoise(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const c = pick(T.shot_noise, f, s)
  return map255(x, (v) => clip01(poisson(rng, v * c) / c))
}

/** skimage random_noise(mode='s&p', amount=c): every value independently, half salt, half pepper. */
function impulseNoise(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const c = pick(T.impulse_noise, f, s)
  return map255(x, (v) => (rng.random() < c ? (rng.random() < 0.5 ? 1 : 0) : v))
}

function defocusBlur(x: FImage, s: number, _rng: Rng, f: CorruptionFamily): FImage {
  const [radius, alias] = pick(T.defocus_blur, f, s)
  const { kernel, ksize } = diskKernel(radius, alias)
  return map255(filter2D(x, kernel, ksize), clip01)
}

function glassBlur(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const [sigma, delta, iterations] = pick(T.glass_blur, f, s)
  const { width: W, height: H } = x
  const u8 = gaussianFilter(x, sigma).data.map((v) => Math.trunc(v * 255) & 255)
  // the scripts loop over range(32 - delta, delta, -1) / range(224 - delta, delta, -1): here the image's own size
  for (let it = 0; it < iterations; it++)
    for (let h = H - delta; h > delta; h--)
      for (let w = W - delta; w > delta; w--) {
        const dx = rng.randint(-delta, delta)
        const dy = rng.randint(-delta, delta)
        const a = (h * W + w) * 3
        const b = ((h + dy) * W + w + dx) * 3
        for (let c = 0; c < 3; c++) {
          const t = u8[a + c]
          u8[a + c] = u8[b + c]
          u8[b + c] = t
        }
      }
  return map255(gaussianFilter(fimage(W, H, 3, u8.map((v) => v / 255)), sigma), clip01)
}

/** ImageMagick motion blur of the 8-bit image (the reference round-trips through PNG). */
function motionBlurC(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const [radius, sigma] = pick(T.motion_blur, f, s)
  const u8 = fimage(x.width, x.height, 3, x.data.map((v) => Math.trunc(clip01(v) * 255)))
  return motionBlur(u8, radius, sigma, rng.uniform(-45, 45))
}

function zoomBlur(x: FImage, s: number, _rng: Rng, f: CorruptionFamily): FImage {
  const [start, stop, step] = pick(T.zoom_blur, f, s)
  const zooms = arange(start, stop, step)
  const acc = Float32Array.from(x.data)
  for (const z of zooms) {
    const zd = clippedZoom(x, z).data
    for (let i = 0; i < acc.length; i++) acc[i] += zd[i]
  }
  return map255(x, (_, i) => clip01(acc[i] / (zooms.length + 1)))
}

function snow(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const [loc, scale, zoom, thresh, radius, sigma, blend] = pick(T.snow, f, s)
  const { width: W, height: H } = x
  const layer = fimage(W, H, 1, Float32Array.from({ length: W * H }, () => rng.normal(loc, scale)))
  const zoomed = clippedZoom(layer, zoom)
  // threshold, then to 8-bit (PNG round trip), motion blur, back to [0, 1]
  const u8 = zoomed.data.map((v) => (v < thresh ? 0 : Math.trunc(clip01(v) * 255)))
  const flakes = motionBlur(fimage(W, H, 1, u8), radius, sigma, rng.uniform(-135, -45)).data.map((v) => Math.round(v) / 255)
  const gray = toGray(x).data
  return map255(x, (v, i) => {
    const p = Math.floor(i / 3)
    const base = blend * v + (1 - blend) * Math.max(v, gray[p] * 1.5 + 0.5)
    return clip01(base + flakes[p] + flakes[W * H - 1 - p]) // + rot90(flakes, 2)
  })
}

/**
 * Frost texture, generated procedurally (the reference blends crops of six photographs of ice on glass,
 * which are not redistributable here): a diamond-square haze plus branching ice needles, softened, tinted
 * pale blue; RGB on 0..255, mean brightness about 110-140.
 */
export function frostTexture(W: number, H: number, rng: Rng): FImage {
  const size = 2 ** Math.ceil(Math.log2(Math.max(W, H, 2)))
  const haze = plasmaFractal(size, 2, rng)
  const needles = new Float32Array(W * H)
  const nSeeds = Math.max(3, Math.round((W * H) / 180))
  const draw = (x0: number, y0: number, angle: number, length: number, strength: number, depth: number): void => {
    for (let t = 0; t < length; t += 0.5) {
      const xi = Math.round(x0 + t * Math.cos(angle))
      const yi = Math.round(y0 + t * Math.sin(angle))
      if (xi < 0 || yi < 0 || xi >= W || yi >= H) break
      const v = strength * (1 - (0.6 * t) / length)
      needles[yi * W + xi] = Math.max(needles[yi * W + xi], v)
      if (depth > 0 && rng.random() < 0.08) draw(xi, yi, angle + (rng.bernoulli() ? 1 : -1) * rng.uniform(0.5, 1.1), length * 0.45, v * 0.85, depth - 1)
    }
  }
  for (let k = 0; k < nSeeds; k++) {
    draw(rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0, 2 * Math.PI), rng.uniform(0.15, 0.6) * Math.max(W, H), rng.uniform(0.5, 1), 2)
  }
  const soft = gaussianFilter(fimage(W, H, 1, needles), 0.6)
  const tint = [0.82, 0.9, 1]
  const out = fimage(W, H, 3)
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = clip01(0.55 * haze[y * size + x] + 0.9 * soft.data[y * W + x] + 0.05)
      for (let c = 0; c < 3; c++) out.data[(y * W + x) * 3 + c] = 255 * v * tint[c]
    }
  return out
}

/** The texture is procedural for both families (see frostTexture), scaled to the image; the weights are the scripts'. */
function frost(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const [a, b] = pick(T.frost, f, s)
  const tex = frostTexture(x.width, x.height, rng)
  return fimage(x.width, x.height, 3, x.data.map((v, i) => Math.min(255, Math.max(0, a * v * 255 + b * tex.data[i]))))
}

function fog(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const [strength, decay] = pick(T.fog, f, s)
  const M = FOG_MAPSIZE[f]
  const plasma = plasmaFractal(M, decay, rng)
  const { width: W, height: H } = x
  let maxVal = 0
  for (const v of x.data) maxVal = Math.max(maxVal, v)
  const out = fimage(W, H, 3)
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++) {
      const fogLayer = strength * plasma[(y % M) * M + (xx % M)]
      for (let c = 0; c < 3; c++) {
        const i = (y * W + xx) * 3 + c
        out.data[i] = 255 * clip01(((x.data[i] + fogLayer) * maxVal) / (maxVal + strength))
      }
    }
  return out
}

/** skimage rgb2hsv, V += c (clipped), hsv2rgb: hue and saturation kept, so the RGB triple scales with V. */
function brightness(x: FImage, s: number, _rng: Rng, f: CorruptionFamily): FImage {
  const c = pick(T.brightness, f, s)
  const out = fimage(x.width, x.height, 3)
  for (let p = 0; p < x.width * x.height; p++) {
    const r = x.data[3 * p]
    const g = x.data[3 * p + 1]
    const b = x.data[3 * p + 2]
    const v = Math.max(r, g, b)
    const nv = Math.min(1, v + c)
    for (let k = 0; k < 3; k++) out.data[3 * p + k] = 255 * (v > 0 ? (x.data[3 * p + k] * nv) / v : nv)
  }
  return out
}

function contrast(x: FImage, s: number, _rng: Rng, f: CorruptionFamily): FImage {
  const c = pick(T.contrast, f, s)
  const means = [0, 0, 0]
  x.data.forEach((v, i) => (means[i % 3] += v))
  const n = x.width * x.height
  return map255(x, (v, i) => clip01((v - means[i % 3] / n) * c + means[i % 3] / n))
}

function elasticTransform(x: FImage, s: number, rng: Rng, f: CorruptionFamily): FImage {
  const [alpha, sigma, affine] = pick(T.elastic_transform, f, s)
  const { width: W, height: H } = x
  // random affine: three points around the centre moved by up to `affine` pixels (shape_size = (H, W) as in the reference)
  const cs = [Math.floor(H / 2), Math.floor(W / 2)]
  const sq = Math.floor(Math.min(H, W) / 3)
  const pts1 = [[cs[0] + sq, cs[1] + sq], [cs[0] + sq, cs[1] - sq], [cs[0] - sq, cs[1] - sq]]
  const pts2 = pts1.map((p) => p.map((v) => v + Math.fround(rng.uniform(-affine, affine))))
  const warped = warpAffine(x, affineFromPoints(pts1, pts2))
  // the two displacement fields (dx drawn first, as the reference), smoothed together as two channels
  const u = fimage(W, H, 2)
  for (let c = 0; c < 2; c++) for (let p = 0; p < W * H; p++) u.data[2 * p + c] = rng.uniform(-1, 1)
  const smooth = gaussianFilter(u, sigma, 'reflect', 3).data
  const dx = new Float32Array(W * H)
  const dy = new Float32Array(W * H)
  for (let p = 0; p < W * H; p++) {
    dx[p] = smooth[2 * p] * alpha
    dy[p] = smooth[2 * p + 1] * alpha
  }
  const out = fimage(W, H, 3)
  const px = new Float64Array(3)
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++) {
      const p = y * W + xx
      sampleBilinearInto(warped, y + dy[p], xx + dx[p], reflectHalf, px, 0)
      for (let c = 0; c < 3; c++) out.data[p * 3 + c] = 255 * clip01(px[c])
    }
  return out
}

function pixelate(x: FImage, s: number, _rng: Rng, f: CorruptionFamily): FImage {
  const c = pick(T.pixelate, f, s)
  const u8 = fimage(x.width, x.height, 3, x.data.map((v) => Math.round(clip01(v) * 255)))
  const small = resizeBox(u8, Math.max(1, Math.trunc(x.width * c)), Math.max(1, Math.trunc(x.height * c)))
  return resizeBox(small, x.width, x.height)
}

export const PIXEL_CORRUPTIONS: Readonly<Record<string, PixelCorruption>> = {
  gaussian_noise: gaussianNoise,
  shot_noise: shotNoise,
  impulse_noise: impulseNoise,
  defocus_blur: defocusBlur,
  glass_blur: glassBlur,
  motion_blur: motionBlurC,
  zoom_blur: zoomBlur,
  snow,
  frost,
  fog,
  brightness,
  contrast,
  elastic_transform: elasticTransform,
  pixelate,
}
