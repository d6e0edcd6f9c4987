import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPretrained, type BNNet } from '../../../../src/main/engine/models'
import { convertBatchNorm } from '../../../../src/main/engine/methods/convertBatchNorm'
import { checkConvertedFeatures, compareFeatures, featureSimilarity, histogram, similaritySummary } from '../../../../src/main/engine/analysis/featureSimilarity'
import { Rng } from '../../../../src/shared/random'
import { CIFAR_RESNET, DIGITS, SHARED_DATA } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'
import { CIFAR_CLASSES, DIGIT_CLASSES, loadBatches } from './data'

const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')

describe('featureSimilarity (pure)', () => {
  it('cosine in [-1, 1] and L2 distance per row, against a float64 reference', () => {
    const rng = new Rng(3)
    const n = 200
    const d = 17
    const a = Float32Array.from({ length: n * d }, () => rng.normal())
    const b = Float32Array.from(a, (v, i) => (i % 3 === 0 ? -v : v + rng.normal(0, 0.5)))
    // special rows: identical, opposite, both zero, one zero
    for (let j = 0; j < d; j++) {
      b[j] = a[j]
      b[d + j] = -a[d + j]
      a[2 * d + j] = b[2 * d + j] = 0
      a[3 * d + j] = 0
    }
    const { cosine, l2 } = featureSimilarity(a, b, d)
    for (let i = 0; i < n; i++) {
      let ab = 0
      let aa = 0
      let bb = 0
      let dd = 0
      for (let j = 0; j < d; j++) {
        const x = a[i * d + j]
        const y = b[i * d + j]
        ab += x * y
        aa += x * x
        bb += y * y
        dd += (x - y) ** 2
      }
      expect(cosine[i]).toBeGreaterThanOrEqual(-1)
      expect(cosine[i]).toBeLessThanOrEqual(1)
      if (aa > 0 && bb > 0) expect(cosine[i]).toBeCloseTo(ab / Math.sqrt(aa * bb), 6)
      expect(l2[i]).toBeCloseTo(Math.sqrt(dd), 4)
    }
    expect([cosine[0], cosine[1], cosine[2], cosine[3]]).toEqual([1, -1, 1, 0])
    expect(l2[0]).toBe(0)
    expect(() => featureSimilarity(a, b.subarray(1), d)).toThrow(/before has/)
    expect(() => featureSimilarity(a, b, 7)).toThrow(/not rows of 7/)
  })

  it('summaries: mean, std and fixed-bin histograms over [-1, 1] (configurable)', () => {
    const h = histogram([-1, -0.5, 0, 0.49, 0.5, 1, 1.5], 4, [-1, 1])
    expect(h.edges).toEqual([-1, -0.5, 0, 0.5, 1])
    expect(h.counts).toEqual([1, 1, 2, 2])
    expect(h.outside).toBe(1)
    const s = similaritySummary({ cosine: Float32Array.from([1, 0.5, 0]), l2: Float32Array.from([0, 1, 3]) }, { cosine: { bins: 10 } })
    expect(s.cosine.mean).toBeCloseTo(0.5, 6)
    expect(s.cosine.std).toBeCloseTo(Math.sqrt(1 / 6), 6)
    expect(s.cosine.histogram.counts).toHaveLength(10)
    expect(s.cosine.histogram.counts.reduce((x, y) => x + y, 0)).toBe(3)
    expect(s.l2.histogram.edges.at(-1)).toBe(3)
    expect([s.l2.min, s.l2.max, s.l2.count]).toEqual([0, 3, 3])
  })
})

describe('compareFeatures on resnet20 (eval mode)', () => {
  let a: BNNet
  let b: BNNet
  beforeAll(async () => {
    await useBackend('wasm')
    a = await loadPretrained(RESNET20)
    b = await loadPretrained(RESNET20)
  })
  afterAll(() => {
    a.dispose()
    b.dispose()
  })

  it('an untouched model gives cosine 1 and distance 0 for every image, with labels, indices and predictions', async () => {
    const batches = await loadBatches(join(SHARED_DATA, 'cifar10-jpeg', 'test'), CIFAR_CLASSES, 5, 20)
    const r = await compareFeatures(a, b, batches, { disposeBatches: true })
    expect(r.n).toBe(50)
    expect(r.dim).toBe(64)
    expect([...r.index].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    r.index.forEach((idx, k) => expect(r.label[k]).toBe(Math.floor(idx / 5)))
    expect(r.cosine.every((c) => Math.abs(c - 1) < 1e-6)).toBe(true)
    expect(r.l2.every((v) => v === 0)).toBe(true)
    expect(Array.from(r.predBefore)).toEqual(Array.from(r.predAfter))
    const acc = r.predBefore.filter((p, k) => p === r.label[k]).length / r.n
    expect(acc).toBeGreaterThan(0.6) // resnet20 scores ~82 % on this JPEG copy
  })

  it('BN conversion keeps the features (check helper); a changed model moves them, cosine stays in [-1, 1]', async () => {
    const target = await loadBatches(join(DIGITS, 'mnist_m', 'train'), DIGIT_CLASSES, 6, 30)
    const evalSet = await loadBatches(join(DIGITS, 'mnist_m', 'test'), DIGIT_CLASSES, 4, 20)
    await convertBatchNorm(b, target.map((t) => t.x), { disposeBatches: true })
    const check = await checkConvertedFeatures(a, b, evalSet)
    console.log(`pretrained vs BN-converted features: max rel error ${check.maxRelError.toExponential(2)}, min cosine ${check.minCosine}`)
    expect(check.n).toBe(40)
    expect(check.ok).toBe(true)
    expect(check.maxRelError).toBeLessThan(1e-4)
    // now distort one BN layer of b: the check must fail and similarities drop
    const bn = b.bnLayers().find((l) => l.name === 'layer3.0.bn1')!.bn
    const w = bn.weight.dataSync().map((v, i) => (i % 2 ? -v : 2 * v))
    bn.setState({ weight: w })
    const bad = await checkConvertedFeatures(a, b, evalSet)
    expect(bad.ok).toBe(false)
    const r = await compareFeatures(a, b, evalSet, { disposeBatches: true })
    expect(r.cosine.every((c) => c >= -1 && c <= 1)).toBe(true)
    expect(Math.max(...r.cosine)).toBeLessThan(0.9999)
    expect(Math.min(...r.l2)).toBeGreaterThan(0)
    const s = similaritySummary(r)
    expect(s.cosine.mean).toBeLessThan(1)
    expect(s.cosine.histogram.counts.reduce((x, y) => x + y, 0)).toBe(40)
  })
})
