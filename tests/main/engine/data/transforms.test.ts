import { describe, expect, it } from 'vitest'
import { Rng, seedState } from '../../../../src/shared/random'
import { evalTransform, resolveNormalize, transformOutputSize, validateTransform, type TransformConfig } from '../../../../src/shared/datasets'
import { applyOp, colorJitter, crop, rrcParams, toFloatRgb, type FloatImage } from '../../../../src/main/engine/data/imageOps'
import { applyTransform } from '../../../../src/main/engine/data'

function ramp(w: number, h: number): FloatImage {
  const d = new Float32Array(w * h * 3)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = x * 4 + y + c * 50
  return { data: d, width: w, height: h }
}
const px = (img: FloatImage, x: number, y: number, c = 0): number => img.data[(y * img.width + x) * 3 + c]

describe('pixel ops', () => {
  it('a crop offset with a single choice draws no random number (the augmentation streams are unchanged)', () => {
    const state: [number, number, number, number] = [123, 456, 789, 1011]
    const a = Rng.fromState(state)
    expect(rrcParams(10, 10, [1, 1], [1, 1], a)).toEqual([0, 0, 10, 10]) // the full image: offsets 0..0
    const b = Rng.fromState(state)
    b.random() // area scale
    b.random() // log aspect ratio
    expect(a.getState()).toEqual(b.getState())
  })

  it('resize: bilinear keeps a linear ramp linear and matches PIL weights on a 2x reduction', () => {
    const img = ramp(16, 8)
    const up = applyOp(img, { op: 'resize', size: [16, 32] }, Rng.fromState(seedState(1, 1, 1, 1)))
    expect([up.width, up.height]).toEqual([32, 16])
    // interior of an upscaled ramp: constant step of 4 * 16/32 = 2 per output pixel
    for (let x = 2; x < 29; x++) expect(px(up, x + 1, 5) - px(up, x, 5)).toBeCloseTo(2, 4)
    const down = applyOp(img, { op: 'resize', size: [4, 8] }, Rng.fromState(seedState(1, 1, 1, 1)))
    // output pixel 2 averages source 3..6 with weights 1/8, 3/8, 3/8, 1/8 -> the ramp value at x = 4.5, y = 4.5
    expect(px(down, 2, 2)).toBeCloseTo(4.5 * 4 + 4.5, 4)
    // at the border the window is cut and renormalised (PIL): rows 0, 1, 2 with weights 3/7, 3/7, 1/7
    expect(px(down, 2, 0)).toBeCloseTo(4.5 * 4 + 5 / 7, 4)
    const shorter = applyOp(img, { op: 'resize', size: 4 }, Rng.fromState(seedState(1, 1, 1, 1)))
    expect([shorter.width, shorter.height]).toEqual([8, 4])
  })

  it('centerCrop uses Python rounding and pads with zeros when the crop is larger', () => {
    const img = ramp(5, 5)
    const c = applyOp(img, { op: 'centerCrop', size: 2 }, Rng.fromState(seedState(1, 1, 1, 1)))
    expect(px(c, 0, 0)).toBe(px(img, 2, 2)) // round(1.5) = 2
    const big = applyOp(img, { op: 'centerCrop', size: 7 }, Rng.fromState(seedState(1, 1, 1, 1)))
    expect(px(big, 0, 0)).toBe(0)
    expect(px(big, 1, 1)).toBe(px(img, 0, 0))
  })

  it('randomCrop with padding: every offset 0..2p occurs and content is the shifted image', () => {
    const img = ramp(8, 8)
    for (let i = 0; i < img.data.length; i += 3) img.data[i] = i // unique values in channel 0
    const offsets = new Set<string>()
    for (let s = 0; s < 400; s++) {
      const out = applyOp(img, { op: 'randomCrop', size: 8, padding: 1 }, Rng.fromState(seedState(s, 7, 7, 7)))
      // recover the shift from a known interior pixel
      let found = ''
      for (let dy = -1; dy <= 1 && !found; dy++)
        for (let dx = -1; dx <= 1 && !found; dx++) if (px(out, 3, 3) === px(img, 3 + dx, 3 + dy) && px(out, 4, 4) === px(img, 4 + dx, 4 + dy)) found = `${dx},${dy}`
      expect(found).not.toBe('')
      offsets.add(found)
    }
    expect(offsets.size).toBe(9)
    const edge = crop(img, -1, -1, 3, 3, 'edge', 0)
    expect(px(edge, 0, 0)).toBe(px(img, 0, 0))
    const refl = crop(img, -1, -1, 3, 3, 'reflect', 0)
    expect(px(refl, 0, 0)).toBe(px(img, 1, 1))
  })

  it('horizontalFlip mirrors with p = 1 and keeps the image with p = 0', () => {
    const img = ramp(6, 3)
    const f = applyOp(img, { op: 'horizontalFlip', p: 1 }, Rng.fromState(seedState(1, 2, 3, 4)))
    expect(px(f, 0, 2, 1)).toBe(px(img, 5, 2, 1))
    expect(applyOp(img, { op: 'horizontalFlip', p: 0 }, Rng.fromState(seedState(1, 2, 3, 4)))).toBe(img)
  })

  it('randomResizedCrop boxes stay inside the image and respect the scale / ratio ranges', () => {
    for (let s = 0; s < 300; s++) {
      const [top, left, h, w] = rrcParams(50, 40, [0.08, 1], [3 / 4, 4 / 3], Rng.fromState(seedState(s, 1, 2, 3)))
      expect(top >= 0 && left >= 0 && top + h <= 40 && left + w <= 50).toBe(true)
      expect((h * w) / 2000).toBeGreaterThan(0.07)
    }
    expect(rrcParams(100, 10, [0.9, 1], [1, 1], Rng.fromState(seedState(1, 1, 1, 1)))).toEqual([0, 45, 10, 10]) // fallback: central crop
  })

  it('colour jitter: brightness scales pixels uniformly, grey is invariant to saturation / hue, hue keeps value', () => {
    const img = ramp(4, 4)
    for (let s = 0; s < 20; s++) {
      const b = colorJitter(img, { brightness: 0.4 }, Rng.fromState(seedState(s, 3, 3, 3)))
      const ratio = b.data[5] / img.data[5]
      expect(ratio).toBeGreaterThanOrEqual(0.6)
      expect(ratio).toBeLessThanOrEqual(1.4)
      for (let i = 1; i < img.data.length; i++) if (img.data[i] * 1.4 < 255) expect(b.data[i]).toBeCloseTo(img.data[i] * ratio, 3)
    }
    const grey = toFloatRgb(new Uint8Array(48).fill(77), 4, 4, 3)
    for (const v of colorJitter(grey, { saturation: 0.9, hue: 0.4 }, Rng.fromState(seedState(5, 5, 5, 5))).data) expect(v).toBeCloseTo(77, 1)
    const h = colorJitter(img, { hue: 0.3 }, Rng.fromState(seedState(9, 9, 9, 9)))
    let changed = false
    for (let i = 0; i < 16; i++) {
      const a = img.data.subarray(3 * i, 3 * i + 3)
      const o = h.data.subarray(3 * i, 3 * i + 3)
      expect(Math.max(...o)).toBeCloseTo(Math.max(...a), 3)
      expect(Math.min(...o)).toBeCloseTo(Math.min(...a), 3)
      if (Math.abs(o[0] - a[0]) > 1) changed = true
    }
    expect(changed).toBe(true)
  })
})

describe('transform config', () => {
  it('validates, sizes, derives the eval pipeline and resolves normalisation presets', () => {
    expect(validateTransform({ ops: [{ op: 'randomResizedCrop', size: 224, scale: [0.5, 0.2] }], normalize: { preset: 'imagenet' } })[0]).toMatch(/scale/)
    expect(validateTransform({ ops: [{ op: 'colorJitter', hue: 0.7 }], normalize: { preset: 'clip' } })[0]).toMatch(/hue/)
    expect(transformOutputSize([{ op: 'resize', size: 256 }, { op: 'randomCrop', size: 224 }, { op: 'horizontalFlip' }])).toEqual([224, 224])
    expect(transformOutputSize([{ op: 'resize', size: 32 }])).toBeNull()
    expect(evalTransform({ ops: [{ op: 'randomResizedCrop', size: 224 }, { op: 'horizontalFlip' }], normalize: { preset: 'imagenet' } }).ops).toEqual([
      { op: 'resize', size: 256 },
      { op: 'centerCrop', size: 224 },
    ])
    expect(resolveNormalize({ preset: 'minus1to1' })).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] })
    expect(resolveNormalize({ preset: 'custom', mean: [0.1, 0.2, 0.3], std: [1, 2, 3] }).std).toEqual([1, 2, 3])
  })

  it('applyTransform normalises with the preset and is reproducible per seed', () => {
    const raw = { data: new Uint8Array([0, 128, 255, 255, 0, 0, 10, 20, 30, 40, 50, 60]), width: 2, height: 2, channels: 3 as const }
    const t: TransformConfig = { ops: [], normalize: { preset: 'minus1to1' } }
    const out = applyTransform(raw, t)
    expect(out.data[0]).toBeCloseTo(-1, 6)
    expect(out.data[2]).toBeCloseTo(1, 6)
    const aug: TransformConfig = { ops: [{ op: 'randomResizedCrop', size: 2 }, { op: 'colorJitter', brightness: 0.5 }], normalize: { preset: 'imagenet' } }
    expect(applyTransform(raw, aug, [1, 2]).data).toEqual(applyTransform(raw, aug, [1, 2]).data)
    expect(applyTransform(raw, aug, [1, 2]).data).not.toEqual(applyTransform(raw, aug, [1, 3]).data)
  })
})
