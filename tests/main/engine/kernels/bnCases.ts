/** BatchNorm cases shared by the wasm-loop and native-loop tests: odd shapes, data with a large mean. */
import * as tf from '@tensorflow/tfjs'
import { batchNormInfer, batchNormTrain } from '../../../../src/main/engine/kernels/batchNorm'
import { seededValues } from './compare'

export const EPS = 1e-5
export const SHAPES: number[][] = [
  [2, 3, 3, 1],
  [3, 5, 7, 4],
  [4, 9, 9, 16],
  [1, 6, 5, 3], // one image
  [5, 1, 1, 7], // 1x1 spatial
  [7, 11], // rank 2 (BatchNorm1d-like)
  [2, 4, 4, 24], // the wasm SIMD loops take 4 channels per step and the rest (7, 11, 3, 1 here) in a scalar tail
  [3, 2, 2, 8],
]

export type BnCase = { shape: number[]; x: Float32Array; dy: Float32Array; g: Float32Array; b: Float32Array; rm: Float32Array; rv: Float32Array }

export function makeCase(shape: number[], seed: number, offset = 0): BnCase {
  const size = tf.util.sizeFromShape(shape)
  const c = shape[shape.length - 1]
  return {
    shape,
    x: seededValues(size, seed).map((v) => 2 * v + offset),
    dy: seededValues(size, seed + 1),
    g: seededValues(c, seed + 2).map((v) => 1 + 0.5 * v),
    b: seededValues(c, seed + 3).map((v) => 0.3 * v),
    rm: seededValues(c, seed + 4).map((v) => 0.5 * v + offset),
    rv: seededValues(c, seed + 5).map((v) => 1 + 0.5 * v),
  }
}

/** [y, (mean, variance,) dx, dgamma, dbeta] for one mode; `fused` picks the custom kernels or tfjs-core's ops. */
export function bnOutputs(k: BnCase, mode: 'train' | 'frozen', fused: boolean): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor(k.x, k.shape)
    const dy = tf.tensor(k.dy, k.shape)
    const [g, b, rm, rv] = [k.g, k.b, k.rm, k.rv].map((v) => tf.tensor1d(v)) as tf.Tensor1D[]
    const axes = k.shape.slice(0, -1).map((_, i) => i)
    const forward = (xi: tf.Tensor, gi: tf.Tensor1D, bi: tf.Tensor1D): tf.Tensor[] => {
      if (mode === 'frozen') return [fused ? batchNormInfer(xi, rm, rv, gi, bi, EPS) : tf.batchNorm(xi, rm, rv, bi, gi, EPS)]
      if (fused) {
        const r = batchNormTrain(xi, gi, bi, EPS)
        return [r.y, r.mean, r.variance]
      }
      const { mean, variance } = tf.moments(xi, axes)
      return [tf.batchNorm(xi, mean, variance, bi, gi, EPS), mean, variance]
    }
    const outs = forward(x, g, b)
    // loss = sum(y * dy), so d(loss)/dy = dy
    const grads = tf.grads((xi, gi, bi) => tf.sum(tf.mul(forward(xi, gi as tf.Tensor1D, bi as tf.Tensor1D)[0], dy)))([x, g, b])
    return [...outs, ...grads]
  }
}

