/**
 * Feature distortion (paper Fig. 1): per image, the cosine similarity and the L2 distance between the
 * penultimate features of the model before fine-tuning and after it, both extracted in EVAL mode.
 * Per set: mean, std and a histogram (fixed bins; cosine over [-1, 1] by default).
 *
 * Conventions: features are row-major Float32Array [N, D]. Cosine of two zero vectors is 1 (nothing
 * moved), of a zero and a non-zero vector 0; the value is clamped to [-1, 1] against rounding.
 */
import * as tf from '@tensorflow/tfjs'
import type { BNNet } from '../models/types'

export interface SimilarityValues {
  /** per image cosine similarity in [-1, 1] */
  cosine: Float32Array
  /** per image L2 distance ||f_after - f_before||_2 */
  l2: Float32Array
}

/** Cosine similarity and L2 distance row by row of two [N, D] feature matrices. */
export function featureSimilarity(before: Float32Array, after: Float32Array, dim: number): SimilarityValues {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`featureSimilarity: dim must be a positive integer (got ${dim})`)
  if (before.length !== after.length) throw new Error(`featureSimilarity: before has ${before.length} values, after ${after.length}`)
  if (before.length % dim !== 0) throw new Error(`featureSimilarity: ${before.length} values are not rows of ${dim}`)
  const n = before.length / dim
  const cosine = new Float32Array(n)
  const l2 = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    let ab = 0
    let aa = 0
    let bb = 0
    let dd = 0
    for (let j = i * dim; j < (i + 1) * dim; j++) {
      const a = before[j]
      const b = after[j]
      ab += a * b
      aa += a * a
      bb += b * b
      dd += (b - a) * (b - a)
    }
    if (!Number.isFinite(ab + aa + bb)) throw new Error(`featureSimilarity: row ${i} holds a non-finite feature`)
    const c = aa === 0 && bb === 0 ? 1 : aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb)
    cosine[i] = Math.max(-1, Math.min(1, c))
    l2[i] = Math.sqrt(dd)
  }
  return { cosine, l2 }
}

export interface Histogram {
  /** bins + 1 edges, ascending */
  edges: number[]
  counts: number[]
  /** values outside [edges[0], edges[bins]] (not counted in `counts`) */
  outside: number
}

export interface Summary {
  count: number
  mean: number
  /** population standard deviation */
  std: number
  min: number
  max: number
  histogram: Histogram
}

export interface HistogramOptions {
  bins?: number
  /** [lo, hi]; default [-1, 1] for cosine, [0, max] for L2 */
  range?: [number, number]
}

/** Fixed-bin histogram; the last bin includes its upper edge. */
export function histogram(values: ArrayLike<number>, bins: number, range: [number, number]): Histogram {
  const [lo, hi] = range
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: bins must be a positive integer (got ${bins})`)
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi >= lo)) throw new Error(`histogram: bad range [${lo}, ${hi}]`)
  const width = hi > lo ? (hi - lo) / bins : 1
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width))
  const counts = new Array<number>(bins).fill(0)
  let outside = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (!(v >= lo && v <= hi)) {
      outside++
      continue
    }
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++
  }
  return { edges, counts, outside }
}

/** Mean, std, min, max and histogram of a set of values (empty set: NaN-free zeros). */
export function summarize(values: ArrayLike<number>, opts: { bins?: number; range: [number, number] }): Summary {
  const n = values.length
  let sum = 0
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    sum += values[i]
    min = Math.min(min, values[i])
    max = Math.max(max, values[i])
  }
  const mean = n > 0 ? sum / n : 0
  let ss = 0
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2
  return {
    count: n,
    mean,
    std: n > 0 ? Math.sqrt(ss / n) : 0,
    min: n > 0 ? min : 0,
    max: n > 0 ? max : 0,
    histogram: histogram(values, opts.bins ?? 40, opts.range),
  }
}

/** Summaries of one eval set: cosine over [-1, 1] (or opts.cosine.range), L2 over [0, max L2]. */
export function similaritySummary(
  sim: SimilarityValues,
  opts: { cosine?: HistogramOptions; l2?: HistogramOptions } = {},
): { cosine: Summary; l2: Summary } {
  let maxL2 = 0
  for (const v of sim.l2) maxL2 = Math.max(maxL2, v)
  return {
    cosine: summarize(sim.cosine, { bins: opts.cosine?.bins ?? 40, range: opts.cosine?.range ?? [-1, 1] }),
    l2: summarize(sim.l2, { bins: opts.l2?.bins ?? 40, range: opts.l2?.range ?? [0, maxL2 > 0 ? maxL2 : 1] }),
  }
}

/** A batch as the data loader yields it, or a bare NHWC tensor (index = running position). */
export type FeatureBatch = tf.Tensor4D | { x: tf.Tensor4D; y?: Int32Array; index?: Int32Array }
export type FeatureBatches = AsyncIterable<FeatureBatch> | Iterable<FeatureBatch>

export interface ExtractOptions {
  /** dispose every batch tensor after use (default false: the caller owns them) */
  disposeBatches?: boolean
  /** also compute eval-mode predictions (argmax of forward) per model (default true) */
  predictions?: boolean
  onProgress?: (imagesDone: number) => void
}

export interface ModelFeatures {
  /** [N, D] row-major, in the order the batches came */
  features: Float32Array[]
  dim: number
}

/** Per image record of a before/after comparison, in batch order. */
export interface FeatureComparison extends SimilarityValues {
  n: number
  dim: number
  /** sample index (the loader's `index`, else the running position) */
  index: Int32Array
  /** true label (-1 when the batches carried none) */
  label: Int32Array
  /** eval-mode argmax per model (empty arrays with predictions: false) */
  predBefore: Int32Array
  predAfter: Int32Array
  /** raw features, [N, D] each */
  before: Float32Array
  after: Float32Array
}

function argmaxRows(logits: Float32Array, cols: number): Int32Array {
  const n = logits.length / cols
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    let best = 0
    for (let j = 1; j < cols; j++) if (logits[i * cols + j] > logits[i * cols + best]) best = j
    out[i] = best
  }
  return out
}

function evalPass(model: BNNet, x: tf.Tensor4D, predictions: boolean): { f: Float32Array; pred: Int32Array | null } {
  const feats = model.features(x, 'eval')
  const f = feats.dataSync() as Float32Array
  feats.dispose()
  if (!predictions) return { f, pred: null }
  const logits = model.forward(x, 'eval')
  const pred = argmaxRows(logits.dataSync() as Float32Array, logits.shape[1])
  logits.dispose()
  return { f, pred }
}

function concat<T extends Float32Array | Int32Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((s, p) => s + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/**
 * Run the same batches through two models in eval mode (e.g. the pretrained model and the fine-tuned
 * one) and compare their penultimate features per image. Models must have the same featureDim.
 */
export async function compareFeatures(before: BNNet, after: BNNet, batches: FeatureBatches, opts: ExtractOptions = {}): Promise<FeatureComparison> {
  if (before.featureDim !== after.featureDim) {
    throw new Error(`compareFeatures: feature widths differ (${before.arch}: ${before.featureDim}, ${after.arch}: ${after.featureDim})`)
  }
  const predictions = opts.predictions ?? true
  const fb: Float32Array[] = []
  const fa: Float32Array[] = []
  const idx: Int32Array[] = []
  const lab: Int32Array[] = []
  const pb: Int32Array[] = []
  const pa: Int32Array[] = []
  let seen = 0
  for await (const b of batches as AsyncIterable<FeatureBatch>) {
    const x = b instanceof tf.Tensor ? b : b.x
    if (x.rank !== 4) throw new Error(`compareFeatures: batch ${idx.length} has shape [${x.shape}], expected NHWC [N, H, W, C]`)
    const n = x.shape[0]
    const r0 = evalPass(before, x, predictions)
    const r1 = evalPass(after, x, predictions)
    fb.push(r0.f)
    fa.push(r1.f)
    const meta: { y?: Int32Array; index?: Int32Array } = b instanceof tf.Tensor ? {} : b
    idx.push(meta.index ? Int32Array.from(meta.index) : Int32Array.from({ length: n }, (_, i) => seen + i))
    lab.push(meta.y ? Int32Array.from(meta.y) : new Int32Array(n).fill(-1))
    if (r0.pred && r1.pred) {
      pb.push(r0.pred)
      pa.push(r1.pred)
    }
    if (opts.disposeBatches) x.dispose()
    seen += n
    opts.onProgress?.(seen)
  }
  const dim = before.featureDim
  const bf = concat(fb, (k) => new Float32Array(k))
  const af = concat(fa, (k) => new Float32Array(k))
  const sim = featureSimilarity(bf, af, dim)
  return {
    ...sim,
    n: seen,
    dim,
    index: concat(idx, (k) => new Int32Array(k)),
    label: concat(lab, (k) => new Int32Array(k)),
    predBefore: concat(pb, (k) => new Int32Array(k)),
    predAfter: concat(pa, (k) => new Int32Array(k)),
    before: bf,
    after: af,
  }
}

export interface FeatureAgreement {
  /** max_i |a_i - b_i| / max_i |a_i| over all features */
  maxRelError: number
  maxAbsError: number
  /** lowest per image cosine similarity */
  minCosine: number
}

/** How far two feature matrices are apart (a is the reference). */
export function featureAgreement(a: Float32Array, b: Float32Array, dim: number): FeatureAgreement {
  const { cosine } = featureSimilarity(a, b, dim)
  let d = 0
  let m = 0
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]))
    m = Math.max(m, Math.abs(a[i]))
  }
  let minCosine = 1
  for (const c of cosine) minCosine = Math.min(minCosine, c)
  return { maxRelError: m > 0 ? d / m : d === 0 ? 0 : Infinity, maxAbsError: d, minCosine }
}

/**
 * Check that BN conversion kept the network's eval-mode function: the pretrained and the converted
 * model must give the same features on the same images (max relative error below `tolerance`).
 */
export async function checkConvertedFeatures(
  pretrained: BNNet,
  converted: BNNet,
  batches: FeatureBatches,
  opts: { tolerance?: number; disposeBatches?: boolean } = {},
): Promise<FeatureAgreement & { ok: boolean; tolerance: number; n: number }> {
  const tolerance = opts.tolerance ?? 1e-4
  const cmp = await compareFeatures(pretrained, converted, batches, { predictions: false, disposeBatches: opts.disposeBatches })
  const agreement = featureAgreement(cmp.before, cmp.after, cmp.dim)
  return { ...agreement, ok: agreement.maxRelError <= tolerance, tolerance, n: cmp.n }
}
