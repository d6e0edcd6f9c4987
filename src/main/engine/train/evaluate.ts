/**
 * Evaluation and feature extraction over batches (BN in eval mode: running statistics).
 * Every function here CONSUMES the batches: it disposes each batch's `x` after use.
 */
import * as tf from '@tensorflow/tfjs'
import type { BNNet } from '../models/types'

/** What the loop needs from a batch; the data loader's Batch satisfies it. */
export interface TrainBatch {
  /** NHWC float32, preprocessed */
  x: tf.Tensor4D
  y: Int32Array
  /** sample indices into the dataset (optional) */
  index?: Int32Array
}

export type Batches = AsyncIterable<TrainBatch> | Iterable<TrainBatch>

export interface EvalResult {
  n: number
  accuracy: number
  /** mean cross-entropy */
  loss: number
  /** accuracy per class (null for a class without samples) */
  perClass: (number | null)[]
  /** samples per class */
  classCounts: number[]
  /** argmax per sample, in batch order */
  predictions: Int32Array
  /** [n, numClasses] row-major, only with keepLogits */
  logits?: Float32Array
}

export interface EvaluateOptions {
  keepLogits?: boolean
  signal?: AbortSignal
}

export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what}: cancelled`)
    this.name = 'CancelledError'
  }
}

function checkBatch(b: TrainBatch, where: string, i: number): void {
  if (b.x.rank !== 4) throw new Error(`${where}: batch ${i} has x of shape [${b.x.shape}], expected NHWC [N, H, W, C]`)
  if (b.y.length !== b.x.shape[0]) throw new Error(`${where}: batch ${i} has ${b.x.shape[0]} images but ${b.y.length} labels`)
}

/** Accuracy, loss and per-class accuracy of `model` on `batches` (BN eval mode). */
export async function evaluate(model: BNNet, batches: Batches, opts: EvaluateOptions = {}): Promise<EvalResult> {
  const K = model.numClasses
  const correct = new Array<number>(K).fill(0)
  const counts = new Array<number>(K).fill(0)
  const preds: Int32Array[] = []
  const logitChunks: Float32Array[] = []
  let lossSum = 0
  let n = 0
  let i = 0
  for await (const b of batches) {
    try {
      if (opts.signal?.aborted) throw new CancelledError('evaluate')
      checkBatch(b, 'evaluate', i)
      for (const c of b.y) if (!(c >= 0 && c < K)) throw new Error(`evaluate: batch ${i} has label ${c} outside the model's ${K} classes`)
      const [logits, pred, lossPer] = tf.tidy(() => {
        const z = model.forward(b.x, 'eval')
        const onehot = tf.oneHot(tf.tensor1d(b.y, 'int32'), K)
        const l = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(z)), 1))
        return [z, tf.argMax(z, 1), l]
      })
      const p = (await pred.data()) as Int32Array
      const l = (await lossPer.data()) as Float32Array
      if (opts.keepLogits) logitChunks.push(Float32Array.from((await logits.data()) as Float32Array))
      tf.dispose([logits, pred, lossPer])
      for (let j = 0; j < p.length; j++) {
        const y = b.y[j]
        counts[y]++
        if (p[j] === y) correct[y]++
        lossSum += l[j]
      }
      preds.push(Int32Array.from(p))
      n += p.length
      i++
    } finally {
      b.x.dispose()
    }
  }
  const predictions = new Int32Array(n)
  let off = 0
  for (const p of preds) {
    predictions.set(p, off)
    off += p.length
  }
  let logits: Float32Array | undefined
  if (opts.keepLogits) {
    logits = new Float32Array(n * K)
    let o = 0
    for (const c of logitChunks) {
      logits.set(c, o)
      o += c.length
    }
  }
  const totalCorrect = correct.reduce((a, c) => a + c, 0)
  return {
    n,
    accuracy: n ? totalCorrect / n : 0,
    loss: n ? lossSum / n : 0,
    perClass: counts.map((c, k) => (c ? correct[k] / c : null)),
    classCounts: counts,
    predictions,
    logits,
  }
}

export interface ExtractedFeatures {
  /** [n, d] row-major penultimate features */
  features: Float32Array
  n: number
  d: number
  labels: Int32Array
  /** dataset indices when the batches carry them, else 0..n-1 */
  index: Int32Array
}

/** Penultimate features of every sample (BN eval mode), e.g. for linear probing. */
export async function extractFeatures(model: BNNet, batches: Batches, opts: { signal?: AbortSignal } = {}): Promise<ExtractedFeatures> {
  const d = model.featureDim
  const chunks: Float32Array[] = []
  const labels: number[] = []
  const index: number[] = []
  let i = 0
  for await (const b of batches) {
    try {
      if (opts.signal?.aborted) throw new CancelledError('extractFeatures')
      checkBatch(b, 'extractFeatures', i)
      const f = model.features(b.x, 'eval')
      const data = Float32Array.from((await f.data()) as Float32Array)
      f.dispose()
      if (data.length !== b.y.length * d) throw new Error(`extractFeatures: model returned ${data.length / b.y.length} features per image, expected ${d}`)
      chunks.push(data)
      for (let j = 0; j < b.y.length; j++) {
        labels.push(b.y[j])
        index.push(b.index ? b.index[j] : labels.length - 1)
      }
      i++
    } finally {
      b.x.dispose()
    }
  }
  const n = labels.length
  const features = new Float32Array(n * d)
  let off = 0
  for (const c of chunks) {
    features.set(c, off)
    off += c.length
  }
  return { features, n, d, labels: Int32Array.from(labels), index: Int32Array.from(index) }
}
