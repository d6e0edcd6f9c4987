import { describe, expect, it } from 'vitest'
import { probeHeadLearningRates } from '../../../../src/main/engine/methods/headProbe'
import { Rng } from '../../../../src/shared/random'

/** n features in d dims: non-negative (like pooled ReLU features), class means apart, scaled by `scale` */
function features(n: number, d: number, K: number, scale: number, seed = 1): { X: Float32Array; y: Int32Array; n: number; d: number } {
  const rng = new Rng(seed, 'features')
  const means = Array.from({ length: K }, () => Float32Array.from({ length: d }, () => rng.uniform(0, 1)))
  const X = new Float32Array(n * d)
  const y = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    y[i] = i % K
    for (let j = 0; j < d; j++) X[i * d + j] = scale * Math.max(0, means[y[i]][j] + rng.normal(0, 1.5))
  }
  return { X, y, n, d }
}

describe('head learning-rate probe', () => {
  it('large features blow up at the large rates and train at the small ones; the same rates on small features do not blow up', () => {
    const big = probeHeadLearningRates(features(600, 16, 5, 3), 5, { lrs: [1, 0.001], batchSize: 32, steps: 100 })
    expect(big.meanSqFeatureNorm).toBeGreaterThan(200)
    expect(big.points[0].blowup).toBe(true)
    expect(big.points[1].blowup).toBe(false)
    expect(big.points[1].finalLoss).toBeLessThan(Math.log(5))
    const small = probeHeadLearningRates(features(600, 16, 5, 0.1), 5, { lrs: [1], batchSize: 32, steps: 100 })
    expect(small.points[0].blowup).toBe(false)
    expect(small.points[0].finalLoss).toBeLessThan(Math.log(5))
  })

  it('is deterministic and refuses labels outside the classes', () => {
    const f = features(100, 32, 4, 1)
    const a = probeHeadLearningRates(f, 4, { lrs: [0.3, 0.03], batchSize: 16, seed: 2 })
    const b = probeHeadLearningRates(f, 4, { lrs: [0.3, 0.03], batchSize: 16, seed: 2 })
    expect(a).toEqual(b)
    expect(a.steps).toBe(150)
    expect(() => probeHeadLearningRates(f, 3, { lrs: [0.1], batchSize: 16 })).toThrow(/label 3 outside 3 classes/)
  })
})
