import { describe, expect, it } from 'vitest'
import {
  fitLogisticRegression, logisticAccuracy, logisticPredict, selectC, type FeatureSet,
} from '../../../../src/main/engine/methods/logisticRegression'
import { Rng } from '../../../../src/shared/random'

// Printed by `/usr/bin/python3 scripts/ref/logreg_reference.py` (torch 1.13 LBFGS, float64, strong Wolfe).
const REF = {
  C: 0.5,
  W: [1.6206364839657532, -0.7302871570215644, -0.5333755945491407, 0.7412983262761745, 0.5570934177071224, -0.963287949658965,
    1.5954500158808904, -0.9734385996625736, -0.04003469027703463, 0.05312526010550401, -0.6573485343067884, -0.8651628588593256,
    1.5068141942117144, -0.7012636359991398, -0.6102186778126264],
  b: [-0.07171791021126672, 0.04663801611606977, 0.025079894095196956],
  objective: 14.656030228666534, // C * sum CE + 0.5 ||W||^2
}

function referenceData(): FeatureSet {
  const N = 60, D = 5, K = 3
  const X = new Float32Array(N * D)
  const y = new Int32Array(N)
  for (let i = 0; i < N; i++) {
    y[i] = i % K
    for (let j = 0; j < D; j++) X[i * D + j] = 0.8 * (j === i % K ? 1 : 0) + Math.sin(1.3 * i + 0.7 * j + 0.4)
  }
  return { X, n: N, d: D, y }
}

/** K Gaussian blobs in d dimensions; `spread` sets the overlap. */
function blobs(rng: Rng, n: number, d: number, K: number, spread: number, labelNoise = 0): FeatureSet {
  const centres = Array.from({ length: K }, () => Array.from({ length: d }, () => rng.normal(0, 3)))
  const X = new Float32Array(n * d)
  const y = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const c = i % K
    for (let j = 0; j < d; j++) X[i * d + j] = centres[c][j] + rng.normal(0, spread)
    y[i] = rng.random() < labelNoise ? rng.randint(0, K) : c
  }
  return { X, n, d, y }
}

const norm = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0))

describe('l2-regularised multinomial logistic regression (sklearn semantics)', () => {
  it('reaches the optimum found by torch LBFGS in float64', () => {
    const data = referenceData()
    const m = fitLogisticRegression(data, 3, { C: REF.C, maxIter: 1000, tol: 1e-9 })
    expect(m.converged).toBe(true)
    expect(m.gradMax).toBeLessThan(1e-6)
    // scaled objective = original / (C N)
    expect(m.objective * REF.C * data.n).toBeCloseTo(REF.objective, 6)
    m.W.forEach((w, i) => expect(Math.abs(w - REF.W[i])).toBeLessThan(2e-5))
    const bMean = (m.b[0] + m.b[1] + m.b[2]) / 3
    Array.from(m.b).forEach((b, i) => expect(Math.abs(b - bMean - REF.b[i])).toBeLessThan(2e-5))
  })

  it('stops at sklearn\'s default tolerance with a near-zero gradient', () => {
    const m = fitLogisticRegression(referenceData(), 3, { C: REF.C })
    expect(m.converged).toBe(true)
    expect(m.gradMax).toBeLessThanOrEqual(1e-4)
    expect(m.iterations).toBeLessThan(100)
  })

  it('separates separable data perfectly', () => {
    const rng = new Rng(1)
    const train = blobs(rng, 300, 8, 4, 0.3)
    const m = fitLogisticRegression(train, 4, { C: 10 })
    expect(logisticAccuracy(m, train)).toBe(1)
    expect(logisticPredict(m, train.X.slice(0, 4 * 8), 4)).toEqual(Int32Array.from([0, 1, 2, 3]))
  })

  it('a larger C (weaker regularisation) gives larger weights', () => {
    const data = blobs(new Rng(2), 200, 6, 3, 2.5)
    const norms = [1e-3, 1e-2, 1e-1, 1, 10].map((C) => norm(fitLogisticRegression(data, 3, { C, tol: 1e-6, maxIter: 500 }).W))
    for (let i = 1; i < norms.length; i++) expect(norms[i]).toBeGreaterThan(norms[i - 1])
  })

  it('selectC keeps the C with the best validation accuracy', async () => {
    const rng = new Rng(3)
    const all = blobs(rng, 400, 10, 5, 3.0, 0.1)
    const split = (lo: number, hi: number): FeatureSet => ({ X: all.X.slice(lo * 10, hi * 10), n: hi - lo, d: 10, y: (all.y as Int32Array).slice(lo, hi) })
    const train = split(0, 300)
    const val = split(300, 400)
    const seen: number[] = []
    const { best, results } = await selectC(train, val, 5, { grid: [1, 1e-4, 1e-2, 100], onResult: (r) => seen.push(r.C) })
    expect(seen).toEqual([1e-4, 1e-2, 1, 100])
    expect(results.map((r) => r.C)).toEqual(seen)
    const bestAcc = Math.max(...results.map((r) => r.valAccuracy))
    const first = results.find((r) => r.valAccuracy === bestAcc)!
    expect(best.C).toBe(first.C)
    expect(logisticAccuracy(best, val)).toBe(bestAcc)
    expect(results.every((r) => r.trainAccuracy > 0.5 && r.converged)).toBe(true)
    const ac = new AbortController()
    ac.abort()
    await expect(selectC(train, val, 5, { signal: ac.signal })).rejects.toThrow(/cancelled/)
  })

  it('rejects malformed input with a named problem', () => {
    const d = referenceData()
    expect(() => fitLogisticRegression({ ...d, y: Int32Array.from(d.y as Int32Array, (v) => (v === 2 ? 7 : v)) }, 3, { C: 1 })).toThrow(/train: label 7 at row 2/)
    expect(() => fitLogisticRegression({ ...d, n: 59 }, 3, { C: 1 })).toThrow(/train: X has 300 values, expected n\*d = 295/)
    expect(() => fitLogisticRegression(d, 3, { C: 0 })).toThrow(/C must be a positive/)
    const bad = d.X.slice()
    bad[7] = NaN
    expect(() => fitLogisticRegression({ ...d, X: bad }, 3, { C: 1 })).toThrow(/feature 2 of row 1 is not finite/)
  })
})
