import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  CORRUPTIONS, CORRUPTION_CONSTANTS, CORRUPTION_FAMILIES, CORRUPTION_GROUPS, capForCorruption, corrupt, corruptThenResize, corruptionError, corruptionFamily, corruptionSize,
  jpegRoundTrip, mCE, resizeRgb, type CorruptionName, type RgbImage,
} from '../../../../src/main/engine/analysis/corruptions'
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
  for (let i = 0; i < a.length; i++) {
    ma += a[i]
    mb += b[i]
  }
  ma /= a.length
  mb /= b.length
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb)
    aa += (a[i] - ma) ** 2
    bb += (b[i] - mb) ** 2
  }
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

describe('corruptions (CIFAR-10-C family, 15 x 5, on 32x32 images)', () => {
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

/** A real 256x256 image: an 8x8 collage of CIFAR-10 test images at their own 32 px (no resampling). */
async function collage(offset: number, width = 256, height = 256): Promise<RgbImage> {
  const files: string[] = []
  for (const c of readdirSync(CIFAR_TEST).sort()) files.push(...readdirSync(join(CIFAR_TEST, c)).sort().slice(0, 8).map((f) => join(CIFAR_TEST, c, f)))
  const composite = Array.from({ length: (width / 32) * (height / 32) }, (_, i) => ({ input: files[(offset + i * 7) % files.length], left: (i % (width / 32)) * 32, top: Math.floor(i / (width / 32)) * 32 }))
  const { data, info } = await sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } }).composite(composite).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return { data: new Uint8Array(data), width: info.width, height: info.height }
}

describe('corruption families and the resolution they are applied at', () => {
  it('holds make_cifar_c.py / make_imagenet_c.py constants, 5 severities per family', () => {
    for (const [name, table] of Object.entries(CORRUPTION_CONSTANTS)) {
      for (const f of CORRUPTION_FAMILIES) expect(table[f], `${name} ${f}`).toHaveLength(5)
    }
    expect(Object.keys(CORRUPTION_CONSTANTS).sort()).toEqual([...CORRUPTIONS].sort())
    expect(CORRUPTION_CONSTANTS.gaussian_noise.imagenet).toEqual([0.08, 0.12, 0.18, 0.26, 0.38])
    expect(CORRUPTION_CONSTANTS.gaussian_noise.cifar).toEqual([0.04, 0.06, 0.08, 0.09, 0.1])
    expect(CORRUPTION_CONSTANTS.defocus_blur.imagenet[4]).toEqual([10, 0.5])
    expect(CORRUPTION_CONSTANTS.jpeg_compression.imagenet).toEqual([25, 18, 15, 10, 7])
    // elastic: 244 * (2, 0.7, 0.1) at severity 1 of ImageNet-C, 32 * (0.1, 0.03, 0.03) at severity 5 of CIFAR-10-C
    expect(CORRUPTION_CONSTANTS.elastic_transform.imagenet[0].map((v) => +v.toFixed(6))).toEqual([488, 170.8, 24.4])
    expect(CORRUPTION_CONSTANTS.elastic_transform.cifar[4].map((v) => +v.toFixed(6))).toEqual([3.2, 0.96, 0.96])
  })

  it('chooses the family by the short side: <= 90 px CIFAR-10-C, larger ImageNet-C; corrupt() defaults to it', async () => {
    expect([corruptionFamily(16, 16), corruptionFamily(28, 28), corruptionFamily(32, 32), corruptionFamily(64, 64), corruptionFamily(90, 400)]).toEqual(Array(5).fill('cifar'))
    expect([corruptionFamily(91, 91), corruptionFamily(400, 96), corruptionFamily(224, 224), corruptionFamily(256, 341)]).toEqual(Array(4).fill('imagenet'))
    const big = await resizeRgb(images[0], 96, 96)
    const small = images[0]
    const same = (a: RgbImage, b: RgbImage): boolean => Buffer.from(a.data).equals(Buffer.from(b.data))
    for (const c of ['gaussian_noise', 'defocus_blur', 'jpeg_compression'] as const) {
      expect(same(await corrupt(big, c, 5, 3), await corrupt(big, c, 5, 3, { family: 'imagenet' })), c).toBe(true)
      expect(same(await corrupt(big, c, 5, 3), await corrupt(big, c, 5, 3, { family: 'cifar' })), c).toBe(false)
      expect(same(await corrupt(small, c, 5, 3), await corrupt(small, c, 5, 3, { family: 'cifar' })), c).toBe(true)
      expect(same(await corrupt(small, c, 5, 3), await corrupt(small, c, 5, 3, { family: 'imagenet' })), c).toBe(false)
    }
    // ImageNet-C's JPEG qualities 25..7 vs CIFAR-10-C's 80..40
    expect(same(await corrupt(big, 'jpeg_compression', 1), (await jpegRoundTrip(big, 25)).image)).toBe(true)
    expect(same(await corrupt(small, 'jpeg_compression', 1), (await jpegRoundTrip(small, 80)).image)).toBe(true)
    // ImageNet-C's constants are the stronger ones at the same severity
    expect(meanAbs((await corrupt(big, 'gaussian_noise', 3, 1, { family: 'imagenet' })).data, big.data)).toBeGreaterThan(1.5 * meanAbs((await corrupt(big, 'gaussian_noise', 3, 1, { family: 'cifar' })).data, big.data))
    await expect(corrupt(small, 'fog', 1, 0, { family: 'tiny' as 'cifar' })).rejects.toThrow(/family must be 'cifar' or 'imagenet'/)
  })

  it('caps the short side at 256 (aspect kept) and leaves smaller images at their own size', async () => {
    expect(corruptionSize(32, 32)).toEqual([32, 32])
    expect(corruptionSize(256, 256)).toEqual([256, 256])
    expect(corruptionSize(256, 1000)).toEqual([256, 1000])
    expect(corruptionSize(512, 384)).toEqual([341, 256])
    expect(corruptionSize(300, 600)).toEqual([256, 512])
    expect(corruptionSize(4000, 3000)).toEqual([341, 256])
    const wide = await collage(3, 512, 384)
    const capped = await capForCorruption(wide)
    expect([capped.width, capped.height, capped.data.length]).toEqual([341, 256, 341 * 256 * 3])
    expect(await capForCorruption(images[0])).toBe(images[0])
  })

  it('a 256-px image is corrupted at 256 (ImageNet-C constants) and only then resized to the working size', async () => {
    const img = await collage(0)
    const same = (a: RgbImage, b: RgbImage): boolean => Buffer.from(a.data).equals(Buffer.from(b.data))
    for (const c of ['defocus_blur', 'zoom_blur', 'pixelate', 'jpeg_compression'] as const) {
      const r = await corruptThenResize(img, c, 4, [2, 9], { width: 32, height: 32 })
      expect([r.family, ...r.corruptedAt, r.image.width, r.image.height], c).toEqual(['imagenet', 256, 256, 32, 32])
      const corruptedAt256 = await corrupt(img, c, 4, [2, 9], { family: 'imagenet' })
      expect(same(r.image, await resizeRgb(corruptedAt256, 32, 32)), c).toBe(true)
      // not the same as corrupting the resized image (at 32 px, with either family)
      const resized = await resizeRgb(img, 32, 32)
      for (const family of CORRUPTION_FAMILIES) expect(same(r.image, await corrupt(resized, c, 4, [2, 9], { family })), `${c} ${family}`).toBe(false)
    }
    // blur at 256 px then shrinking to 32 px leaves little: a 10-px defocus is ~1 px at the working size
    const defocus256 = (await corruptThenResize(img, 'defocus_blur', 5, 0, { width: 32, height: 32 })).image
    const defocus32 = await corrupt(await resizeRgb(img, 32, 32), 'defocus_blur', 5, 0, { family: 'imagenet' })
    const ref = await resizeRgb(img, 32, 32)
    expect(meanAbs(defocus256.data, ref.data)).toBeLessThan(meanAbs(defocus32.data, ref.data))
    // larger images: capped first, corrupted at 341x256, then resized
    const wide = await collage(5, 512, 384)
    const r = await corruptThenResize(wide, 'motion_blur', 2, 1, { width: 40, height: 40 })
    expect([r.family, ...r.corruptedAt, r.image.width, r.image.height]).toEqual(['imagenet', 341, 256, 40, 40])
    expect(same(r.image, await resizeRgb(await corrupt(await capForCorruption(wide), 'motion_blur', 2, 1), 40, 40))).toBe(true)
  })

  it('ImageNet-C family: all 15 at 256x256 and non-square, same-sized uint8 output, deterministic per seed', async () => {
    const img = await collage(1)
    const ms: string[] = []
    for (const c of CORRUPTIONS) {
      const t = performance.now()
      const a = await corrupt(img, c, 5, 4)
      ms.push(`${c} ${(performance.now() - t).toFixed(0)}`)
      expect([a.width, a.height, a.data.length], c).toEqual([256, 256, 256 * 256 * 3])
      expect(meanAbs(a.data, img.data), c).toBeGreaterThan(0)
      expect(Buffer.from((await corrupt(img, c, 5, 4)).data).equals(Buffer.from(a.data)), c).toBe(true)
    }
    console.log(`ms per 256x256 image at severity 5 (ImageNet-C constants): ${ms.join(', ')}`)
    const odd: RgbImage = { data: Uint8Array.from({ length: 150 * 97 * 3 }, (_, i) => (i * 37) % 256), width: 150, height: 97 }
    for (const c of CORRUPTIONS) {
      const o = await corrupt(odd, c, 3, 1)
      expect([o.width, o.height, o.data.length], c).toEqual([150, 97, 150 * 97 * 3])
    }
  })
})
