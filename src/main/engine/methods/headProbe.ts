/**
 * The head-rate probe (see shared/headProbe.ts for why): a zero-initialised linear head trained alone with
 * SGD (PyTorch semantics: momentum buffer = m * buf + grad, no dampening) and cross-entropy on fixed
 * features, once per learning rate, with the same seeded batch order for every rate. Plain loops over
 * Float64 accumulators: the head is K x d and the probe a few hundred steps, so no tensors are needed.
 */
import { Rng } from '../../../shared/random'
import type { HeadProbePoint, HeadProbeResult } from '../../../shared/headProbe'

export interface HeadProbeOptions {
  lrs: readonly number[]
  batchSize: number
  momentum?: number
  /** SGD steps per rate (at least one pass over the features when they are fewer) */
  steps?: number
  seed?: number
}

export interface FeatureSet {
  /** n x d, row-major */
  X: Float32Array
  y: ArrayLike<number>
  n: number
  d: number
}

/** Trains the head at each rate; returns the loss trajectory summary per rate. */
export function probeHeadLearningRates(f: FeatureSet, numClasses: number, opts: HeadProbeOptions): HeadProbeResult {
  const { X, y, n, d } = f
  const K = numClasses
  if (n < 2 || X.length !== n * d) throw new Error(`probeHeadLearningRates: ${X.length} values do not make ${n} x ${d} features`)
  for (let i = 0; i < n; i++) if (!(y[i] >= 0 && y[i] < K)) throw new Error(`probeHeadLearningRates: label ${y[i]} outside ${K} classes`)
  const B = Math.max(1, Math.min(opts.batchSize, n))
  const steps = Math.max(opts.steps ?? 150, Math.ceil(n / B))
  const momentum = opts.momentum ?? 0.9
  // one batch order for every rate: the rates differ in nothing else
  const rng = new Rng(opts.seed ?? 0, 'head-probe')
  const order: Int32Array[] = []
  for (let s = 0, perm = rng.permutation(n), at = 0; s < steps; s++) {
    if (at + B > n) {
      perm = rng.permutation(n)
      at = 0
    }
    order.push(perm.slice(at, at + B))
    at += B
  }
  let sq = 0
  for (let i = 0; i < n * d; i++) sq += X[i] * X[i]
  const points: HeadProbePoint[] = opts.lrs.map((lr) => probeOne(X, y, d, K, order, lr, momentum))
  return { images: n, featureDim: d, numClasses: K, meanSqFeatureNorm: sq / n, steps, batchSize: B, startLoss: Math.log(K), points }
}

function probeOne(X: Float32Array, y: ArrayLike<number>, d: number, K: number, order: Int32Array[], lr: number, momentum: number): HeadProbePoint {
  const W = new Float64Array(K * d)
  const b = new Float64Array(K)
  const gW = new Float64Array(K * d)
  const gb = new Float64Array(K)
  const bufW = new Float64Array(K * d)
  const bufB = new Float64Array(K)
  const z = new Float64Array(K)
  const losses: number[] = []
  let blowup = false
  for (let s = 0; s < order.length; s++) {
    const idx = order[s]
    gW.fill(0)
    gb.fill(0)
    let loss = 0
    for (const i of idx) {
      const xi = i * d
      let max = -Infinity
      for (let k = 0; k < K; k++) {
        let v = b[k]
        const wk = k * d
        for (let j = 0; j < d; j++) v += W[wk + j] * X[xi + j]
        z[k] = v
        if (v > max) max = v
      }
      let sum = 0
      for (let k = 0; k < K; k++) sum += Math.exp(z[k] - max)
      loss += Math.log(sum) + max - z[y[i]]
      for (let k = 0; k < K; k++) {
        const g = Math.exp(z[k] - max) / sum - (k === y[i] ? 1 : 0)
        gb[k] += g
        const wk = k * d
        for (let j = 0; j < d; j++) gW[wk + j] += g * X[xi + j]
      }
    }
    const m = idx.length
    loss /= m
    losses.push(loss)
    if (!Number.isFinite(loss)) {
      blowup = true
      break
    }
    for (let p = 0; p < K * d; p++) {
      bufW[p] = s === 0 ? gW[p] / m : momentum * bufW[p] + gW[p] / m
      W[p] -= lr * bufW[p]
    }
    for (let k = 0; k < K; k++) {
      bufB[k] = s === 0 ? gb[k] / m : momentum * bufB[k] + gb[k] / m
      b[k] -= lr * bufB[k]
    }
  }
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 4)))
  const finalLoss = tail.reduce((a, c) => a + c, 0) / tail.length
  const maxLoss = Math.max(...losses)
  // blown up: non-finite; no better than the zero head it started from; or a transient overshoot past twice the
  // start loss (in a real run that overshoot's gradient goes into the backbone: measured on MobileNetV2, eta_w with
  // a probe peak of 62 = 27 ln K ended as a batch loss of ~15 within three steps and a chance-level run)
  if (!Number.isFinite(finalLoss) || finalLoss > Math.log(K) || maxLoss > 2 * Math.log(K)) blowup = true
  return { lr, finalLoss, maxLoss, blowup }
}
