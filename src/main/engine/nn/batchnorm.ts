/**
 * BatchNorm2d with PyTorch semantics (NHWC data): per-layer eps and momentum (defaults 1e-5, 0.1,
 * PyTorch convention running = (1 - momentum) * running + momentum * batch), batch statistics in
 * 'train' mode with the UNBIASED batch variance (n/(n-1)) going into running_var, running statistics
 * in 'eval' and 'frozen' mode. See module.ts for how running-stat updates interact with tapes.
 */
import * as tf from '@tensorflow/tfjs'
import { batchNormInfer, batchNormTrain, hasFastBatchNorm } from '../kernels/batchNorm'
import { batchNormTrainAct, hasBatchNormTrainAct, nativeBlendStats, type BnActivation } from '../kernels/native'
import { Module, toForwardOptions, type BatchNormUpdate, type ModeArg } from './module'

export interface BatchNorm2dOptions {
  eps?: number
  /** PyTorch convention (Keras momentum k corresponds to 1 - k) */
  momentum?: number
}

export class BatchNorm2d extends Module {
  readonly eps: number
  /** PyTorch convention; fine-tuning sets it from the recipe (runMethod), the checkpoint's value otherwise */
  momentum: number
  /** gamma */
  readonly weight: tf.Variable
  /** beta */
  readonly bias: tf.Variable
  readonly runningMean: tf.Variable
  readonly runningVar: tf.Variable

  constructor(readonly numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super()
    this.eps = opts.eps ?? 1e-5
    this.momentum = opts.momentum ?? 0.1
    this.weight = this.registerParameter('weight', tf.ones([numFeatures]))
    this.bias = this.registerParameter('bias', tf.zeros([numFeatures]))
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]))
    this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]))
  }

  protected override ignoredKeys(): readonly string[] {
    return ['num_batches_tracked']
  }

  /**
   * BN, plus `residual` when given (a ResNet block's shortcut), then `activation` (default none): in 'train' mode one
   * fused kernel where the backend has it (kernels/native.ts, DaftBatchNormTrainAct / DaftBatchNormTrainAddAct), else
   * BN, tf.add and tf.relu / tf.relu6.
   */
  forward(x: tf.Tensor, mode: ModeArg, activation: BnActivation = 'linear', residual?: tf.Tensor): tf.Tensor4D {
    const opts = toForwardOptions(mode)
    const act = (y: tf.Tensor4D): tf.Tensor4D => {
      const z = residual ? (tf.add(y, residual) as tf.Tensor4D) : y
      return activation === 'relu' ? tf.relu(z) : activation === 'relu6' ? tf.relu6(z) : z
    }
    const x4 = x as tf.Tensor4D
    if (x4.rank !== 4 || x4.shape[3] !== this.numFeatures) {
      throw new Error(`BatchNorm2d(${this.numFeatures}): expected NHWC input with ${this.numFeatures} channels, got [${x.shape}]`)
    }
    opts.onBatchNormInput?.(this, x4)
    // fused kernels (kernels/batchNorm.ts) where the backend has them: one pass each way instead of moments +
    // FusedBatchNorm, whose gradient materialises activation-sized tiles of the statistics
    const fast = hasFastBatchNorm()
    if (opts.bn !== 'train') {
      const rm = this.runningMean as tf.Tensor1D
      const rv = this.runningVar as tf.Tensor1D
      if (fast) return act(batchNormInfer(x4, rm, rv, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps) as tf.Tensor4D)
      return act(tf.batchNorm(x4, rm, rv, this.bias, this.weight, this.eps) as tf.Tensor4D)
    }
    const [n, h, w] = x4.shape
    const count = n * h * w
    if (count < 2) throw new Error(`BatchNorm2d(${this.numFeatures}): expected more than 1 value per channel when training, got input [${x.shape}]`)
    let y: tf.Tensor4D
    let mean: tf.Tensor1D
    let variance: tf.Tensor1D
    const fused = fast && (activation !== 'linear' || residual != null) && hasBatchNormTrainAct()
    if (fused) {
      const r = batchNormTrainAct(x4, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps, activation, residual)
      y = r.y as tf.Tensor4D
      mean = r.mean
      variance = r.variance
    } else if (fast) {
      const r = batchNormTrain(x4, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps)
      y = r.y as tf.Tensor4D
      mean = r.mean
      variance = r.variance
    } else {
      ;({ mean, variance } = tf.moments(x4, [0, 1, 2]) as { mean: tf.Tensor1D; variance: tf.Tensor1D })
      y = tf.batchNorm(x4, mean, variance, this.bias, this.weight, this.eps) as tf.Tensor4D
    }
    // running_var takes the unbiased variance: variance * n / (n - 1), applied with the update (one native call for
    // every layer on wasm with the addon, not a Multiply per layer here)
    const update: BatchNormUpdate = { bn: this, mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D, unbias: count / (count - 1) }
    if (opts.statUpdates) opts.statUpdates.push(update)
    else applyBatchNormUpdates([update])
    return fused ? y : act(y)
  }

  /** running = (1 - momentum) * running + momentum * batch (PyTorch). Does not dispose its inputs. */
  updateRunningStats(batchMean: tf.Tensor1D, batchVarUnbiased: tf.Tensor1D): void {
    const m = this.momentum
    const [newMean, newVar] = tf.tidy(() => [
      this.runningMean.mul(1 - m).add(batchMean.mul(m)),
      this.runningVar.mul(1 - m).add(batchVarUnbiased.mul(m)),
    ])
    this.runningMean.assign(newMean)
    this.runningVar.assign(newVar)
    newMean.dispose()
    newVar.dispose()
  }

  /** Overwrite gamma, beta, running_mean, running_var (host arrays of length numFeatures). */
  setState(s: { weight?: ArrayLike<number>; bias?: ArrayLike<number>; runningMean?: ArrayLike<number>; runningVar?: ArrayLike<number> }): void {
    const put = (v: tf.Variable, a: ArrayLike<number> | undefined, what: string): void => {
      if (!a) return
      if (a.length !== this.numFeatures) throw new Error(`BatchNorm2d(${this.numFeatures}).setState: ${what} has length ${a.length}`)
      const t = tf.tensor1d(Float32Array.from(a))
      v.assign(t)
      t.dispose()
    }
    put(this.weight, s.weight, 'weight')
    put(this.bias, s.bias, 'bias')
    put(this.runningMean, s.runningMean, 'running_mean')
    put(this.runningVar, s.runningVar, 'running_var')
  }
}

/** Apply pending running-stat updates (after the optimiser step) and free them. */
export function applyBatchNormUpdates(updates: BatchNormUpdate[]): void {
  // on wasm with the addon every update in one call, in order (the same arithmetic as updateRunningStats), when all
  // are BatchNorm2d's own; else each through tfjs ops
  const fused =
    updates.length > 0 &&
    updates.every((u) => u.bn instanceof BatchNorm2d) &&
    nativeBlendStats(
      updates.flatMap((u) => [
        { target: u.bn.runningMean, batch: u.mean, keep: 1 - u.bn.momentum, take: u.bn.momentum },
        { target: u.bn.runningVar, batch: u.variance, keep: 1 - u.bn.momentum, take: u.bn.momentum, scale: u.unbias },
      ]),
    )
  for (const u of updates) {
    if (!fused) {
      const unbiased = tf.tidy(() => u.variance.mul(u.unbias)) as tf.Tensor1D
      u.bn.updateRunningStats(u.mean, unbiased)
      unbiased.dispose()
    }
    u.mean.dispose()
    u.variance.dispose()
  }
  updates.length = 0
}

/** Drop pending updates without applying them (e.g. a skipped step). */
export function disposeBatchNormUpdates(updates: BatchNormUpdate[]): void {
  for (const u of updates) {
    u.mean.dispose()
    u.variance.dispose()
  }
  updates.length = 0
}
