/**
 * Linear probing (LP): l2-regularised multinomial logistic regression on frozen features, with
 * scikit-learn's semantics (LogisticRegression(penalty='l2', C, solver='lbfgs'), intercept unpenalised):
 *   minimise  C * sum_i CE(W x_i + b, y_i) + 0.5 * ||W||^2
 * solved, like sklearn >= 1.1, on the equivalent scaled objective
 *   f = mean_i CE_i + ||W||^2 / (2 C N)
 * by L-BFGS in plain TS (Float64 parameters and accumulation, features kept as Float32Array).
 * Stops when max |grad f| <= tol (sklearn's gtol) or the relative decrease of f is below 64 eps.
 * W is [K, d] row-major: the PyTorch Linear layout, ready to become the model's head.
 */
import { DEFAULT_LP_C } from '../../../shared/recipes'

export interface FeatureSet {
  /** n x d row-major features */
  X: Float32Array
  n: number
  d: number
  /** labels in [0, K) */
  y: ArrayLike<number>
}

export interface LogRegOptions {
  C: number
  /** default 100 (sklearn) */
  maxIter?: number
  /** gradient tolerance on the scaled objective, default 1e-4 (sklearn) */
  tol?: number
  /** warm start (e.g. the solution for the previous C) */
  init?: { W: ArrayLike<number>; b: ArrayLike<number> }
  /** L-BFGS history size, default 10 */
  memory?: number
}

export interface LogRegModel {
  /** [K, d] row-major */
  W: Float32Array
  b: Float32Array
  K: number
  d: number
  C: number
  iterations: number
  converged: boolean
  /** final scaled objective (mean CE + ||W||^2 / (2CN)) */
  objective: number
  /** final max |gradient| of the scaled objective */
  gradMax: number
}

function checkSet(s: FeatureSet, K: number, what: string): void {
  if (!Number.isInteger(s.n) || !Number.isInteger(s.d) || s.n < 1 || s.d < 1) throw new Error(`logistic regression: ${what}: n and d must be positive integers (got ${s.n}, ${s.d})`)
  if (s.X.length !== s.n * s.d) throw new Error(`logistic regression: ${what}: X has ${s.X.length} values, expected n*d = ${s.n * s.d}`)
  if (s.y.length !== s.n) throw new Error(`logistic regression: ${what}: y has ${s.y.length} labels, expected ${s.n}`)
  for (let i = 0; i < s.n; i++) {
    const c = s.y[i]
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new Error(`logistic regression: ${what}: label ${c} at row ${i} is outside [0, ${K})`)
  }
  for (let i = 0; i < s.X.length; i++) {
    if (!Number.isFinite(s.X[i])) throw new Error(`logistic regression: ${what}: feature ${i % s.d} of row ${Math.floor(i / s.d)} is not finite`)
  }
}

/** Z[i, k] = b_k + W_k . x_i for all rows; four classes per pass over a row (independent accumulators). */
function computeLogits(theta: Float64Array, X: Float32Array, n: number, d: number, K: number, Z: Float64Array): void {
  const KD = K * d
  for (let i = 0; i < n; i++) {
    const row = i * d
    const zi = i * K
    let k = 0
    for (; k + 4 <= K; k += 4) {
      let a0 = theta[KD + k], a1 = theta[KD + k + 1], a2 = theta[KD + k + 2], a3 = theta[KD + k + 3]
      const w0 = k * d, w1 = w0 + d, w2 = w1 + d, w3 = w2 + d
      for (let j = 0; j < d; j++) {
        const x = X[row + j]
        a0 += theta[w0 + j] * x
        a1 += theta[w1 + j] * x
        a2 += theta[w2 + j] * x
        a3 += theta[w3 + j] * x
      }
      Z[zi + k] = a0
      Z[zi + k + 1] = a1
      Z[zi + k + 2] = a2
      Z[zi + k + 3] = a3
    }
    for (; k < K; k++) {
      let a0 = theta[KD + k], a1 = 0
      const w = k * d
      let j = 0
      for (; j + 2 <= d; j += 2) {
        a0 += theta[w + j] * X[row + j]
        a1 += theta[w + j + 1] * X[row + j + 1]
      }
      for (; j < d; j++) a0 += theta[w + j] * X[row + j]
      Z[zi + k] = a0 + a1
    }
  }
}

/** grad[k, :] += sum_i R[i, k] x_i, four classes per pass over a row. */
function accumulateGrad(R: Float64Array, X: Float32Array, n: number, d: number, K: number, grad: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const row = i * d
    const ri = i * K
    let k = 0
    for (; k + 4 <= K; k += 4) {
      const r0 = R[ri + k], r1 = R[ri + k + 1], r2 = R[ri + k + 2], r3 = R[ri + k + 3]
      const w0 = k * d, w1 = w0 + d, w2 = w1 + d, w3 = w2 + d
      for (let j = 0; j < d; j++) {
        const x = X[row + j]
        grad[w0 + j] += r0 * x
        grad[w1 + j] += r1 * x
        grad[w2 + j] += r2 * x
        grad[w3 + j] += r3 * x
      }
    }
    for (; k < K; k++) {
      const r = R[ri + k]
      if (r === 0) continue
      const w = k * d
      for (let j = 0; j < d; j++) grad[w + j] += r * X[row + j]
    }
  }
}

/**
 * Scaled objective and its gradient at theta = [W (K*d), b (K)]; writes the gradient into `grad`.
 * `Z` is an n*K workspace (logits, then softmax residuals p - onehot).
 */
function objectiveAndGrad(theta: Float64Array, grad: Float64Array, s: FeatureSet, K: number, invCN: number, Z: Float64Array): number {
  const { X, n, d, y } = s
  const KD = K * d
  computeLogits(theta, X, n, d, K, Z)
  grad.fill(0)
  let loss = 0
  for (let i = 0; i < n; i++) {
    const zi = i * K
    let zmax = -Infinity
    for (let k = 0; k < K; k++) if (Z[zi + k] > zmax) zmax = Z[zi + k]
    const yi = y[i]
    const zy = Z[zi + yi]
    let sum = 0
    for (let k = 0; k < K; k++) {
      const e = Math.exp(Z[zi + k] - zmax)
      Z[zi + k] = e
      sum += e
    }
    loss += Math.log(sum) + zmax - zy
    const inv = 1 / sum
    for (let k = 0; k < K; k++) {
      const r = Z[zi + k] * inv - (k === yi ? 1 : 0)
      Z[zi + k] = r
      grad[KD + k] += r
    }
  }
  accumulateGrad(Z, X, n, d, K, grad)
  const invN = 1 / n
  let reg = 0
  for (let p = 0; p < KD; p++) {
    reg += theta[p] * theta[p]
    grad[p] = grad[p] * invN + theta[p] * invCN
  }
  for (let k = 0; k < K; k++) grad[KD + k] *= invN
  return loss * invN + 0.5 * invCN * reg
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}
const absMax = (a: Float64Array): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]))
  return m
}

/** Fit on `train` (labels 0..K-1). */
export function fitLogisticRegression(train: FeatureSet, K: number, opts: LogRegOptions): LogRegModel {
  const { C } = opts
  const maxIter = opts.maxIter ?? 100
  const tol = opts.tol ?? 1e-4
  const m = opts.memory ?? 10
  if (!(Number.isFinite(C) && C > 0)) throw new Error(`logistic regression: C must be a positive number (got ${C})`)
  if (!Number.isInteger(K) || K < 2) throw new Error(`logistic regression: need at least 2 classes (got ${K})`)
  checkSet(train, K, 'train')
  const { d, n } = train
  const P = K * d + K
  const invCN = 1 / (C * n)
  const theta = new Float64Array(P)
  if (opts.init) {
    if (opts.init.W.length !== K * d || opts.init.b.length !== K) throw new Error(`logistic regression: warm start has the wrong size (W ${opts.init.W.length}, b ${opts.init.b.length}; want ${K * d}, ${K})`)
    theta.set(opts.init.W as ArrayLike<number>, 0)
    theta.set(opts.init.b as ArrayLike<number>, K * d)
  }
  let g = new Float64Array(P)
  const Z = new Float64Array(n * K)
  let f = objectiveAndGrad(theta, g, train, K, invCN, Z)
  const S: Float64Array[] = []
  const Y: Float64Array[] = []
  const rho: number[] = []
  const alpha = new Float64Array(m)
  const dir = new Float64Array(P)
  const trial = new Float64Array(P)
  let gTrial = new Float64Array(P)
  let iter = 0
  let converged = absMax(g) <= tol
  while (!converged && iter < maxIter) {
    // two-loop recursion: dir = -H g
    dir.set(g)
    for (let h = S.length - 1; h >= 0; h--) {
      alpha[h] = rho[h] * dot(S[h], dir)
      const yh = Y[h]
      for (let p = 0; p < P; p++) dir[p] -= alpha[h] * yh[p]
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)))
    for (let p = 0; p < P; p++) dir[p] *= gamma
    for (let h = 0; h < S.length; h++) {
      const beta = rho[h] * dot(Y[h], dir)
      const sh = S[h]
      for (let p = 0; p < P; p++) dir[p] += (alpha[h] - beta) * sh[p]
    }
    for (let p = 0; p < P; p++) dir[p] = -dir[p]
    let slope = dot(g, dir)
    if (!(slope < 0)) {
      // not a descent direction (numerical trouble): restart from steepest descent
      S.length = Y.length = rho.length = 0
      for (let p = 0; p < P; p++) dir[p] = -g[p] / Math.max(1, Math.sqrt(dot(g, g)))
      slope = dot(g, dir)
    }
    // backtracking line search (Armijo, c1 = 1e-4) with quadratic interpolation
    let step = 1
    let fTrial = 0
    let accepted = false
    for (let ls = 0; ls < 40; ls++) {
      for (let p = 0; p < P; p++) trial[p] = theta[p] + step * dir[p]
      fTrial = objectiveAndGrad(trial, gTrial, train, K, invCN, Z)
      if (Number.isFinite(fTrial) && fTrial <= f + 1e-4 * step * slope) {
        accepted = true
        break
      }
      const q = Number.isFinite(fTrial) ? (-slope * step * step) / (2 * (fTrial - f - slope * step)) : step * 0.1
      step = Math.min(0.5 * step, Math.max(0.1 * step, q))
    }
    iter++
    if (!accepted) break
    const sNew = new Float64Array(P)
    const yNew = new Float64Array(P)
    for (let p = 0; p < P; p++) {
      sNew[p] = trial[p] - theta[p]
      yNew[p] = gTrial[p] - g[p]
    }
    const sy = dot(sNew, yNew)
    if (sy > 1e-12 * dot(yNew, yNew)) {
      if (S.length === m) {
        S.shift()
        Y.shift()
        rho.shift()
      }
      S.push(sNew)
      Y.push(yNew)
      rho.push(1 / sy)
    }
    theta.set(trial)
    const tmp = g
    g = gTrial
    gTrial = tmp
    const fOld = f
    f = fTrial
    if (absMax(g) <= tol) converged = true
    else if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= 64 * Number.EPSILON) converged = true
  }
  return {
    W: Float32Array.from(theta.subarray(0, K * d)),
    b: Float32Array.from(theta.subarray(K * d)),
    K,
    d,
    C,
    iterations: iter,
    converged,
    objective: f,
    gradMax: absMax(g),
  }
}

/** Logits [n, K] row-major. */
export function logisticLogits(model: LogRegModel, X: Float32Array, n: number): Float32Array {
  const { K, d, W, b } = model
  if (X.length !== n * d) throw new Error(`logistic regression: X has ${X.length} values, expected ${n}x${d}`)
  const out = new Float32Array(n * K)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      let acc = b[k]
      for (let j = 0; j < d; j++) acc += W[k * d + j] * X[i * d + j]
      out[i * K + k] = acc
    }
  }
  return out
}

export function logisticPredict(model: LogRegModel, X: Float32Array, n: number): Int32Array {
  const z = logisticLogits(model, X, n)
  const K = model.K
  const pred = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    let best = 0
    for (let k = 1; k < K; k++) if (z[i * K + k] > z[i * K + best]) best = k
    pred[i] = best
  }
  return pred
}

export function logisticAccuracy(model: LogRegModel, s: FeatureSet): number {
  const pred = logisticPredict(model, s.X, s.n)
  let ok = 0
  for (let i = 0; i < s.n; i++) if (pred[i] === s.y[i]) ok++
  return ok / s.n
}

export interface CResult {
  C: number
  trainAccuracy: number
  valAccuracy: number
  iterations: number
  converged: boolean
}

export interface SelectCOptions {
  grid?: readonly number[]
  maxIter?: number
  tol?: number
  /** called after each C (for progress reporting) */
  onResult?: (r: CResult, index: number, total: number) => void
  /** checked between fits (the event loop gets a turn after each C) */
  signal?: AbortSignal
}

/**
 * Fit one model per C (ascending, each warm-started from the previous solution) and keep the one
 * with the best ID validation accuracy (ties: the smaller C, i.e. the stronger regularisation).
 */
export async function selectC(train: FeatureSet, val: FeatureSet, K: number, opts: SelectCOptions = {}): Promise<{ best: LogRegModel; results: CResult[] }> {
  const grid = [...(opts.grid ?? DEFAULT_LP_C)].sort((a, b) => a - b)
  if (grid.length === 0) throw new Error('logistic regression: the C grid is empty')
  checkSet(val, K, 'val')
  if (val.d !== train.d) throw new Error(`logistic regression: val features have d = ${val.d}, train features d = ${train.d}`)
  let best: LogRegModel | null = null
  let bestAcc = -1
  let prev: LogRegModel | null = null
  const results: CResult[] = []
  for (const C of grid) {
    await new Promise((resolve) => setTimeout(resolve, 0))
    if (opts.signal?.aborted) throw new Error('logistic regression: cancelled')
    const model = fitLogisticRegression(train, K, { C, maxIter: opts.maxIter, tol: opts.tol, init: prev ?? undefined })
    const r: CResult = { C, trainAccuracy: logisticAccuracy(model, train), valAccuracy: logisticAccuracy(model, val), iterations: model.iterations, converged: model.converged }
    results.push(r)
    opts.onResult?.(r, results.length - 1, grid.length)
    if (r.valAccuracy > bestAcc) {
      bestAcc = r.valAccuracy
      best = model
    }
    prev = model
  }
  return { best: best!, results }
}
