/**
 * The fast image operations behind the corruptions (folded 1-D taps, tap-by-tap 2-D filters over a padded copy,
 * per-axis zoom positions) against direct per-pixel loops of the library semantics they port.
 */
import { describe, expect, it } from 'vitest'
import {
  clippedZoom, crop, diskKernel, fimage, filter2D, gaussianFilter, motionBlur, nearest, reflect101, reflectHalf, sampleBilinear, warpAffine, zoomBilinear, type FImage,
} from '../../../../src/main/engine/analysis/corruption/ops'
import { Rng } from '../../../../src/shared/random'

function randomImage(W: number, H: number, C: number, seed: number): FImage {
  const rng = new Rng(seed)
  return fimage(W, H, C, Float32Array.from({ length: W * H * C }, () => rng.random()))
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let d = 0
  let m = 0
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]))
    m = Math.max(m, Math.abs(b[i]))
  }
  return d / Math.max(m, 1e-30)
}

/** direct correlation with a centred k x k kernel, border rule on every tap */
function naiveFilter2D(img: FImage, k: Float64Array, ksize: number, border: (i: number, n: number) => number): FImage {
  const { width: W, height: H, channels: C, data } = img
  const out = fimage(W, H, C)
  const r = (ksize - 1) / 2
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        let s = 0
        for (let ky = 0; ky < ksize; ky++)
          for (let kx = 0; kx < ksize; kx++) s += k[ky * ksize + kx] * data[(border(y + ky - r, H) * W + border(x + kx - r, W)) * C + c]
        out.data[(y * W + x) * C + c] = s
      }
  return out
}

/** scipy.ndimage.gaussian_filter, tap by tap (radius floor(truncate * sigma + 0.5)) */
function naiveGaussian(img: FImage, sigma: number, border: (i: number, n: number) => number, truncate: number): FImage {
  const r = Math.floor(truncate * sigma + 0.5)
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)))
  const s = k.reduce((a, b) => a + b, 0)
  const { width: W, height: H, channels: C } = img
  const pass = (src: FImage, axis: 'x' | 'y'): FImage => {
    const out = fimage(W, H, C)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++) {
          let v = 0
          for (let i = -r; i <= r; i++) {
            const yy = axis === 'y' ? border(y + i, H) : y
            const xx = axis === 'x' ? border(x + i, W) : x
            v += (k[i + r] / s) * src.data[(yy * W + xx) * C + c]
          }
          out.data[(y * W + x) * C + c] = v
        }
    return out
  }
  return pass(pass(img, 'y'), 'x')
}

describe('corruption image operations (fast paths vs direct loops)', () => {
  it('filter2D: the defocus disks (ImageNet radius 10 and CIFAR radius 1.5) and a sparse random kernel, BORDER_REFLECT_101', () => {
    const img = randomImage(37, 29, 3, 1)
    for (const [radius, alias] of [[10, 0.5], [1.5, 0.1], [6, 0.5]]) {
      const { kernel, ksize } = diskKernel(radius, alias)
      expect(maxRelDiff(filter2D(img, kernel, ksize).data, naiveFilter2D(img, kernel, ksize, reflect101).data), `disk ${radius}`).toBeLessThan(1e-6)
    }
    const rng = new Rng(2)
    const k = Float64Array.from({ length: 49 }, () => (rng.random() < 0.4 ? 0 : rng.normal()))
    expect(maxRelDiff(filter2D(img, k, 7).data, naiveFilter2D(img, k, 7, reflect101).data)).toBeLessThan(1e-6)
  })

  it('gaussianFilter: small sigmas and kernels far longer than the image (elastic, sigma 171 px), nearest and reflect borders', () => {
    const img = randomImage(23, 31, 2, 3)
    for (const [sigma, mode, truncate] of [[0.6, 'nearest', 4], [1.5, 'nearest', 4], [2.44, 'reflect', 3], [19.52, 'reflect', 3], [170.8, 'reflect', 3]] as const) {
      const fast = gaussianFilter(img, sigma, mode, truncate)
      const ref = naiveGaussian(img, sigma, mode === 'nearest' ? nearest : reflectHalf, truncate)
      expect(maxRelDiff(fast.data, ref.data), `sigma ${sigma} ${mode}`).toBeLessThan(1e-5)
    }
  })

  it('zoomBilinear and clippedZoom: the same samples as per-pixel bilinear sampling and crop + zoom + crop', () => {
    const img = randomImage(30, 22, 3, 4)
    for (const z of [1, 1.07, 1.3, 2.25, 4.5]) {
      const zoomed = zoomBilinear(img, z, z)
      const oh = Math.round(22 * z)
      const ow = Math.round(30 * z)
      const ref = fimage(ow, oh, 3)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let c = 0; c < 3; c++) ref.data[(y * ow + x) * 3 + c] = sampleBilinear(img, oh > 1 ? (y * 21) / (oh - 1) : 0, ow > 1 ? (x * 29) / (ow - 1) : 0, c, nearest)
      expect(maxRelDiff(zoomed.data, ref.data), `zoom ${z}`).toBeLessThan(1e-6)
      const ch = Math.ceil(22 / z)
      const cw = Math.ceil(30 / z)
      const inner = zoomBilinear(crop(img, Math.floor((22 - ch) / 2), Math.floor((30 - cw) / 2), ch, cw), z, z)
      const viaCrops = crop(inner, Math.floor((inner.height - 22) / 2), Math.floor((inner.width - 30) / 2), 22, 30)
      expect(Array.from(clippedZoom(img, z).data), `clipped ${z}`).toEqual(Array.from(viaCrops.data))
    }
  })

  it('motionBlur: one-sided Gaussian along the angle, edge pixels repeated', () => {
    const img = randomImage(26, 19, 1, 5)
    for (const [radius, sigma, angle] of [[6, 1, 30], [20, 15, -40], [12, 12, -100]]) {
      const width = 2 * Math.ceil(radius) + 1
      const k = Array.from({ length: width }, (_, i) => Math.exp(-(i * i) / (2 * sigma * sigma)))
      const s = k.reduce((a, b) => a + b, 0)
      const px = width * Math.sin((angle * Math.PI) / 180)
      const py = width * Math.cos((angle * Math.PI) / 180)
      const hyp = Math.hypot(px, py)
      const ref = fimage(26, 19, 1)
      for (let y = 0; y < 19; y++)
        for (let x = 0; x < 26; x++) {
          let v = 0
          for (let i = 0; i < width; i++) v += k[i] * img.data[nearest(y + Math.round((i * px) / hyp), 19) * 26 + nearest(x + Math.round((i * py) / hyp), 26)]
          ref.data[y * 26 + x] = v / s
        }
      expect(maxRelDiff(motionBlur(img, radius, sigma, angle).data, ref.data), `${radius} ${sigma} ${angle}`).toBeLessThan(1e-6)
    }
  })

  it('warpAffine: inverse-mapped bilinear samples with BORDER_REFLECT_101', () => {
    const img = randomImage(21, 17, 3, 6)
    const M = [1.05, 0.1, -2.5, -0.08, 0.97, 1.25]
    const out = warpAffine(img, M)
    const [a, b, tx, c, d, ty] = M
    const det = a * d - b * c
    for (let y = 0; y < 17; y++)
      for (let x = 0; x < 21; x++) {
        const sx = (d / det) * (x - tx) + (-b / det) * (y - ty)
        const sy = (-c / det) * (x - tx) + (a / det) * (y - ty)
        for (let ch = 0; ch < 3; ch++) expect(out.data[(y * 21 + x) * 3 + ch]).toBeCloseTo(sampleBilinear(img, sy, sx, ch, reflect101), 6)
      }
  })
})
