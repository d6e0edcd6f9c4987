/**
 * Test kit for the training loop: a tiny BatchNorm CNN (conv3x3 -> BN -> ReLU -> conv1x1 -> BN -> ReLU
 * -> global average pool -> linear) behind the BNNet interface, and synthetic 4x4 RGB images whose
 * class is written in their colour, so a few epochs on 'cpu' learn it. No image decoding.
 */
import * as tf from '@tensorflow/tfjs'
import { BNNetBase } from '../../../../src/main/engine/models'
import type { Preprocessing } from '../../../../src/main/engine/models'
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, withInitSeed, type ModeArg } from '../../../../src/main/engine/nn'
import type { TrainBatch } from '../../../../src/main/engine/train/evaluate'
import { Rng, fork } from '../../../../src/shared/random'

export class TinyNet extends BNNetBase {
  readonly arch = 'resnet20' as const
  readonly featureDim = 8
  readonly headName = 'fc'
  readonly preprocessing: Preprocessing = { inputSize: [4, 4], range: [0, 1] }
  head: Linear
  numClasses: number
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly conv2: Conv2d
  readonly bn2: BatchNorm2d
  private readonly pool = new GlobalAvgPool2d()

  constructor(numClasses: number, seed: number) {
    super()
    this.numClasses = numClasses
    const m = withInitSeed(seed, () => ({
      conv1: this.registerModule('conv1', new Conv2d(3, 8, 3, { padding: 1, bias: false })),
      bn1: this.registerModule('bn1', new BatchNorm2d(8)),
      conv2: this.registerModule('conv2', new Conv2d(8, 8, 1, { bias: false })),
      bn2: this.registerModule('bn2', new BatchNorm2d(8)),
      head: this.registerModule('fc', new Linear(8, numClasses)),
    }))
    this.conv1 = m.conv1
    this.bn1 = m.bn1
    this.conv2 = m.conv2
    this.bn2 = m.bn2
    this.head = m.head
  }

  features(x: tf.Tensor4D, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => {
      const a = tf.relu(this.bn1.forward(this.conv1.forward(x, mode), mode))
      const b = tf.relu(this.bn2.forward(this.conv2.forward(a, mode), mode))
      return this.pool.forward(b)
    })
  }

  protected stageOf(name: string): string {
    return name === 'bn1' ? 'stem' : 'stage 1'
  }
}

export interface SyntheticSet {
  x: Float32Array
  y: Int32Array
  n: number
}

/** n images of 4x4x3; class k brightens channel k (mod 3) and, for k >= 3, darkens the next one. */
export function syntheticSet(n: number, K: number, seed: number, shift = 0): SyntheticSet {
  const rng = new Rng(seed, 'synthetic')
  const x = new Float32Array(n * 48)
  const y = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const k = i % K
    y[i] = k
    for (let p = 0; p < 16; p++) {
      for (let c = 0; c < 3; c++) {
        let v = rng.normal(0, 0.5) + shift
        if (c === k % 3) v += 1.5
        if (k >= 3 && c === (k + 1) % 3) v -= 1.5
        x[i * 48 + p * 3 + c] = v
      }
    }
  }
  return { x, y, n }
}

/** Batches of a synthetic set (fresh tensors each call; the consumer disposes x). */
export function* batchesOf(set: SyntheticSet, batchSize: number, order?: Int32Array): Generator<TrainBatch> {
  const idx = order ?? Int32Array.from({ length: set.n }, (_, i) => i)
  for (let s = 0; s < set.n; s += batchSize) {
    const sel = idx.subarray(s, Math.min(set.n, s + batchSize))
    const x = new Float32Array(sel.length * 48)
    const y = new Int32Array(sel.length)
    sel.forEach((j, r) => {
      x.set(set.x.subarray(j * 48, j * 48 + 48), r * 48)
      y[r] = set.y[j]
    })
    yield { x: tf.tensor4d(x, [sel.length, 4, 4, 3]), y, index: Int32Array.from(sel) }
  }
}

/** Shuffled training batches for an epoch, reproducible from (seed, epoch). */
export function shuffledBatches(set: SyntheticSet, batchSize: number, seed: number): (epoch: number) => Generator<TrainBatch> {
  return (epoch) => batchesOf(set, batchSize, fork(seed, 'shuffle', epoch).permutation(set.n))
}
