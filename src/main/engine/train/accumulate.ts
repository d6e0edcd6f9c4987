/**
 * One SGD step's loss and gradients, optionally accumulated over micro-batches (gradient accumulation).
 *
 * A batch of N images is split into micro-batches of at most `microBatch` images; each micro-batch's mean
 * softmax cross-entropy is weighted by n_i / N, so the summed loss is the batch mean and the summed gradients are
 * the full-batch gradient whenever the forward pass of one image does not depend on the others (BN 'frozen' or
 * 'eval'). With BN in 'train' mode each micro-batch normalises with its own statistics and pushes its own
 * running-stat update (as PyTorch does when it accumulates over several forward passes), so the BN batch size
 * actually used is the micro-batch size. Peak memory follows the micro-batch: only one micro-batch's tape is alive.
 */
import * as tf from '@tensorflow/tfjs'
import type { BNNet } from '../models/types'
import type { BatchNormUpdate } from '../nn'

export interface GradientStepOptions {
  /** 'train' = batch statistics (updates pushed to statUpdates), 'frozen' = stored statistics */
  bn: 'train' | 'frozen'
  statUpdates: BatchNormUpdate[]
  variables: tf.Variable[]
  /** at most this many images per forward/backward pass (default: the whole batch) */
  microBatch?: number
}

export interface GradientStep {
  /** mean cross-entropy over the whole batch */
  loss: tf.Scalar
  /** number of correctly classified images */
  hits: tf.Scalar
  /** d loss / d variable, by variable name (owned by the caller) */
  grads: tf.NamedTensorMap
  /** images per forward pass (the BN batch size in 'train' mode) */
  microBatchSizes: number[]
}

/**
 * Sizes of the micro-batches a batch of n is split into: as equal as possible, none above `microBatch`
 * (64 by 24 -> [22, 21, 21], so BN never sees a straggler of 1 image when it can be avoided).
 */
export function microBatchSizes(n: number, microBatch?: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`accumulate: batch size must be a positive integer (got ${n})`)
  if (microBatch == null || microBatch >= n) return [n]
  if (!Number.isInteger(microBatch) || microBatch < 1) throw new Error(`accumulate: microBatch must be a positive integer (got ${microBatch})`)
  const k = Math.ceil(n / microBatch)
  const base = Math.floor(n / k)
  return Array.from({ length: k }, (_, i) => base + (i < n % k ? 1 : 0))
}

/** Loss (batch mean softmax cross-entropy), hits and gradients of one batch, accumulated over micro-batches. */
export function gradientStep(model: BNNet, x: tf.Tensor4D, labels: ArrayLike<number>, opts: GradientStepOptions): GradientStep {
  const n = x.shape[0]
  if (labels.length !== n) throw new Error(`accumulate: x [${x.shape}] does not match ${labels.length} labels`)
  const sizes = microBatchSizes(n, opts.microBatch)
  if (opts.bn === 'train' && sizes.some((s) => s < 2)) {
    throw new Error(`accumulate: BN in train mode needs 2+ images per micro-batch (batch ${n}, micro-batches [${sizes}])`)
  }
  const K = model.numClasses
  let loss: tf.Scalar | null = null
  let hits: tf.Scalar | null = null
  let grads: tf.NamedTensorMap | null = null
  let start = 0
  try {
    for (const size of sizes) {
      const xi = sizes.length === 1 ? x : tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1])
      const yi = Int32Array.from({ length: size }, (_, j) => labels[start + j])
      const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(yi, 'int32'), K))
      const weight = size / n
      const kept: { hits?: tf.Tensor } = {}
      try {
        const r = tf.variableGrads(() => {
          const logits = model.forward(xi, { bn: opts.bn, statUpdates: opts.statUpdates })
          kept.hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(onehot, 1)), 'int32')))
          const ce = tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)))
          return (weight === 1 ? ce : tf.mul(ce, weight)) as tf.Scalar
        }, opts.variables)
        loss = accumulate(loss, r.value)
        hits = accumulate(hits, kept.hits! as tf.Scalar)
        kept.hits = undefined
        if (grads === null) grads = r.grads
        else {
          for (const [name, g] of Object.entries(r.grads)) {
            const prev = grads[name]
            grads[name] = prev ? tf.add(prev, g) : g
            if (prev) {
              prev.dispose()
              g.dispose()
            }
          }
        }
      } finally {
        tf.dispose([onehot, ...(kept.hits ? [kept.hits] : [])])
        if (xi !== x) xi.dispose()
      }
      start += size
    }
  } catch (e) {
    tf.dispose([...(loss ? [loss] : []), ...(hits ? [hits] : []), ...Object.values(grads ?? {})])
    throw e
  }
  return { loss: loss!, hits: hits!, grads: grads!, microBatchSizes: sizes }
}

function accumulate<T extends tf.Tensor>(sum: T | null, t: T): T {
  if (sum === null) return t
  const out = tf.add(sum, t) as T
  sum.dispose()
  t.dispose()
  return out
}
