import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { CORRUPTIONS, CORRUPTION_GROUPS, corrupt, corruptionError, jpegRoundTrip, mCE, type CorruptionName, type RgbImage } from '../../../../src/main/engine/analysis/corruptions'
import { SHARED_DATA } from '../../../helpers/paths'

const CIFAR_TEST = join(SHARED_DATA, 'cifar10-jpeg', 'test')
let images: RgbImage[] = []

async function readRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return { data: new Uint8Array(data), width: info.width, height: info.height }
}

beforeAll(async () => {
  const files: string[] = []
  for (const c of readdirSync(CIFAR_TEST).sort()) files.push(...readdirSync(join(CIFAR_TEST, c)).sort().slice(0, 3).map((f) => join(CIFAR_TEST, c, f)))
  images = await Promise.all(files.map(readRgb))
})

const meanAbs = (a: Uint8Array, b: Uint8Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i])
  return s / a.length
}
const oneMinusCorr = (a: Uint8Array, b: Uint8Array): number => {
  let ma = 0
  let mb = 0
  for (let i = 0; i < a.length; i++) ((ma += a[i]), (mb += b[i]))
  ma /= a.length
  mb /= b.length
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) ((ab += (a[i] - ma) * (b[i] - mb)), (aa += (a[i] - ma) ** 2), (bb += (b[i] - mb) ** 2))
  return 1 - ab / Math.sqrt(aa * bb)
}

/** mean over the test images of measure(corrupted, original), per severity 1..5 */
async function ladder(name: CorruptionName, measure: (a: Uint8Array, b: Uint8Array) => number, imgs = images): Promise<number[]> {
  const out: number[] = []
  for (let s = 1; s <= 5; s++) {
    let t = 0
    for (const [k, im] of imgs.entries()) t += measure((await corrupt(im, name, s, [7, k])).data, im.data)
    out.push(t / imgs.length)
  }
  return out
}

// The reference ladders (CIFAR-10-C constants) are monotone in mean pixel distance for these 12.
const PIXEL_MONOTONE: CorruptionName[] = ['gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur', 'zoom_blur', 'snow', 'fog', 'brightness', 'contrast', 'pixelate', 'jpeg_compression']

describe('corruptions (CIFAR-10-C, 15 x 5)', () => {
  it('covers the 15 corruptions in four groups; output is a same-sized uint8 image, deterministic per seed', async () => {
    expect(CORRUPTIONS).toHaveLength(15)
    expect(Object.values(CORRUPTION_GROUPS).flat().sort()).toEqual([...CORRUPTIONS].sort())
    const im = images[0]
    for (const c of CORRUPTIONS) {
      const a = await corrupt(im, c, 3, 11)
      expect(a.data).toBeInstanceOf(Uint8Array)
      expect([a.width, a.height, a.data.length]).toEqual([32, 32, 32 * 32 * 3])
      expect(meanAbs(a.data, im.data), c).toBeGreaterThan(0)
      expect(Buffer.from((await corrupt(im, c, 3, 11)).data).equals(Buffer.from(a.data)), c).toBe(true)
    }
    for (const c of ['gaussian_noise', 'glass_blur', 'frost', 'snow', 'elastic_transform'] as const) {
      expect(meanAbs((await corrupt(im, c, 3, 11)).data, (await corrupt(im, c, 3, 12)).data), c).toBeGreaterThan(0)
    }
  })

  for (const c of PIXEL_MONOTONE) {
    it(`${c}: mean pixel distance to the original grows with severity`, async () => {
      const d = await ladder(c, meanAbs)
      for (let s = 1; s < 5; s++) expect(d[s], `${c} severity ${s + 1} vs ${s}: ${d.map((v) => v.toFixed(2))}`).toBeGreaterThan(d[s - 1])
    })
  }

  it('motion_blur: distance grows with severity; 3 and 4 differ only in a negligible kernel tail (reference constants (6,2) vs (8,2))', async () => {
    const d = await ladder('motion_blur', meanAbs)
    expect(d[1]).toBeGreaterThan(d[0])
    expect(d[2]).toBeGreaterThan(d[1])
    expect(d[3]).toBeGreaterThanOrEqual(d[2])
    expect(d[3] - d[2]).toBeLessThan(0.1 * d[2])
    expect(d[4]).toBeGreaterThan(d[3])
  })

  it('frost: correlation with the original falls with every severity (more texture, less image)', async () => {
    const d = await ladder('frost', oneMinusCorr)
    for (let s = 1; s < 5; s++) expect(d[s], `${d}`).toBeGreaterThan(d[s - 1])
  })

  it('glass_blur: a second shuffling pass moves pixels further at equal blur (severity 4 > 2, 5 > 3)', async () => {
    const d = await ladder('glass_blur', meanAbs)
    expect(d[3]).toBeGreaterThan(d[1] * 1.15)
    expect(d[4]).toBeGreaterThan(d[2] * 1.15)
  })

  it('elastic_transform: local (non-affine) warping grows with severity on a linear ramp', async () => {
    const ramp: RgbImage = { data: new Uint8Array(32 * 32 * 3), width: 32, height: 32 }
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) ramp.data.set([x * 8, y * 8, (x + y) * 4], (y * 32 + x) * 3)
    // an affine warp keeps a ramp linear (Laplacian ~ 0 away from the borders); the elastic field bends it
    const curvature = (a: Uint8Array): number => {
      let t = 0
      for (let y = 6; y < 26; y++)
        for (let x = 6; x < 26; x++)
          for (let c = 0; c < 3; c++) {
            const p = (i: number, j: number): number => a[(i * 32 + j) * 3 + c]
            t += Math.abs(p(y - 1, x) + p(y + 1, x) + p(y, x - 1) + p(y, x + 1) - 4 * p(y, x))
          }
      return t / (20 * 20 * 3)
    }
    const d = await ladder('elastic_transform', (a) => curvature(a), Array.from({ length: 8 }, () => ramp))
    // severity 1 is a pure affine warp (alpha = 0); 2 and 3 bend little (smooth fields); 4 and 5 clearly more
    expect(d[3]).toBeGreaterThan(d[2] * 1.3)
    expect(d[4]).toBeGreaterThan(d[3] * 1.3)
    expect(d[4]).toBeGreaterThan(2 * Math.max(d[0], d[1]))
  })

  it('jpeg_compression really re-encodes: files shrink with severity, the error shows 8x8 block edges', async () => {
    // file size on lossless sources (the cifar10-jpeg copy already went through JPEG q75)
    const png = join(SHARED_DATA, 'cifar10-png-samples', 'test')
    const lossless = await Promise.all(readdirSync(png).sort().flatMap((c) => readdirSync(join(png, c)).map((f) => readRgb(join(png, c, f)))))
    expect(lossless.length).toBe(20)
    const sizes: number[] = []
    for (const q of [80, 65, 58, 50, 40]) {
      let bytes = 0
      for (const im of lossless) bytes += (await jpegRoundTrip(im, q)).bytes
      sizes.push(bytes)
    }
    for (let s = 1; s < 5; s++) expect(sizes[s], `${sizes}`).toBeLessThan(sizes[s - 1])
    // blocking on a smooth 64x64 image: jumps of the (luma) error across block boundaries x = 7|8, 15|16, ...
    // vs inside blocks; a blur or noise would not single out every 8th column
    const W = 64
    const smooth: RgbImage = { data: new Uint8Array(W * W * 3), width: W, height: W }
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) smooth.data.set([128 + 90 * Math.sin(x / 9 + y / 23), 120 + 80 * Math.cos(y / 11), 100 + x + y / 2], (y * W + x) * 3)
    const blockiness: number[] = []
    for (let s = 1; s <= 5; s++) {
      const out = await corrupt(smooth, 'jpeg_compression', s)
      expect(meanAbs(out.data, smooth.data)).toBeGreaterThan(0)
      const err = (i: number): number => 0.299 * (out.data[i] - smooth.data[i]) + 0.587 * (out.data[i + 1] - smooth.data[i + 1]) + 0.114 * (out.data[i + 2] - smooth.data[i + 2])
      let across = 0
      let inside = 0
      for (let y = 0; y < W; y++)
        for (let x = 0; x < W - 1; x++) {
          const j = Math.abs(err((y * W + x + 1) * 3) - err((y * W + x) * 3))
          if (x % 8 === 7) across += j / 7
          else inside += j / 56
        }
      blockiness.push(across / inside)
    }
    expect(blockiness[4], `${blockiness}`).toBeGreaterThan(2)
    expect(blockiness[4]).toBeGreaterThan(blockiness[0])
  })

  it('corruptionError averages the 5 severities; mCE averages the 15 (unnormalised)', () => {
    expect(corruptionError([0.1, 0.2, 0.3, 0.4, 0.5])).toBeCloseTo(0.3, 12)
    const errors = Object.fromEntries(CORRUPTIONS.map((c, i) => [c, [i, i, i, i, i + 5]])) as Record<CorruptionName, number[]>
    const r = mCE(errors)
    expect(r.ce.gaussian_noise).toBeCloseTo(1, 12)
    expect(r.ce.jpeg_compression).toBeCloseTo(15, 12)
    expect(r.mCE).toBeCloseTo(7 + 1, 12)
    const { frost: _f, ...partial } = errors
    expect(() => mCE(partial)).toThrow(/missing corruptions frost/)
    expect(() => corruptionError([1, 2, 3])).toThrow(/need 5/)
    expect(() => mCE({ ...errors, fog: [1, 2, NaN, 3, 4] })).toThrow(/fog.*severity 3/)
  })

  it('rejects bad input with a message naming the problem', async () => {
    await expect(corrupt(images[0], 'fog', 6)).rejects.toThrow(/severity must be 1..5/)
    await expect(corrupt({ data: new Uint8Array(10), width: 2, height: 2 }, 'fog', 1)).rejects.toThrow(/10 bytes.*2x2 RGB/)
  })

  it('works on non-square, non-32 images', async () => {
    const img: RgbImage = { data: Uint8Array.from({ length: 40 * 24 * 3 }, (_, i) => (i * 37) % 256), width: 40, height: 24 }
    for (const c of CORRUPTIONS) {
      const o = await corrupt(img, c, 2, 1)
      expect([o.width, o.height, o.data.length], c).toEqual([40, 24, 40 * 24 * 3])
    }
  })
})
