/**
 * convBn (nn/fold.ts): BatchNorm folded into the convolution when BN uses running statistics, against the unfolded
 * conv -> BatchNorm -> ReLU, in plain inference (the one-kernel DaftConvBatchNorm) and under a gradient tape (the
 * differentiable tf-op path that frozen-BN training takes).
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { BatchNorm2d, Conv2d, convBn } from '../../../../src/main/engine/nn'
import { relativeError, seededValues } from '../kernels/compare'

function layers(withBias: boolean): { conv: Conv2d; bn: BatchNorm2d } {
  const conv = new Conv2d(6, 10, 3, { stride: 2, padding: 1, bias: withBias })
  const bn = new BatchNorm2d(10)
  bn.setState({
    weight: seededValues(10, 1).map((v) => 1 + 0.5 * v),
    bias: seededValues(10, 2),
    runningMean: seededValues(10, 3),
    runningVar: seededValues(10, 4).map((v) => 1 + 0.9 * v),
  })
  return { conv, bn }
}

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('convBn folds BatchNorm into the convolution', () => {
  for (const mode of ['eval', 'frozen'] as const) {
    for (const activation of ['relu', 'linear'] as const) {
      it(`${mode}, ${activation}: the same output as bn(conv(x)) within 1e-5, with the one-kernel fold, leaking nothing`, () => {
        for (const withBias of [false, true]) {
          const { conv, bn } = layers(withBias)
          const x = tf.tensor4d(seededValues(2 * 11 * 9 * 6, 5), [2, 11, 9, 6])
          const ref = tf.tidy(() => {
            const y = bn.forward(conv.forward(x), mode)
            return activation === 'relu' ? tf.relu(y) : y
          })
          const before = tf.memory().numTensors
          const folded = tf.tidy(() => convBn(conv, bn, x, mode, activation))
          expect(tf.memory().numTensors).toBe(before + 1)
          expect(relativeError(folded.dataSync(), ref.dataSync())).toBeLessThan(1e-5)
          tf.dispose([x, ref, folded])
          conv.dispose()
          bn.dispose()
        }
      })
    }
  }

  it('runs one DaftConvBatchNorm kernel per conv in plain inference, and differentiable tf ops under a tape', async () => {
    const { conv, bn } = layers(true)
    const x = tf.tensor4d(seededValues(2 * 8 * 8 * 6, 6), [2, 8, 8, 6])
    const plain = await tf.profile(() => tf.tidy(() => convBn(conv, bn, x, 'eval', 'relu')).dispose())
    expect(plain.kernels.map((k) => k.name)).toEqual(['DaftConvBatchNorm'])
    const taped = await tf.profile(() => {
      const g = tf.grad((xi: tf.Tensor) => convBn(conv, bn, xi, 'frozen', 'relu').sum())(x)
      g.dispose()
    })
    expect(taped.kernels.some((k) => k.name === 'DaftConvBatchNorm')).toBe(false)
    expect(taped.kernels.some((k) => k.name === 'Rsqrt')).toBe(true)
    tf.dispose(x)
    conv.dispose()
    bn.dispose()
  })

  it('frozen-BN gradients of x, the conv weight, gamma and beta equal those of the unfolded layers', () => {
    const { conv, bn } = layers(false)
    const x = tf.tensor4d(seededValues(2 * 9 * 9 * 6, 7), [2, 9, 9, 6])
    const dy = tf.tensor4d(seededValues(2 * 5 * 5 * 10, 8), [2, 5, 5, 10])
    const vars = [conv.weight, bn.weight, bn.bias]
    const grads = (folded: boolean): Float32Array[] => {
      const { value, grads: g } = tf.variableGrads(() =>
        tf.tidy(() => {
          const y = folded ? convBn(conv, bn, x, 'frozen', 'relu') : tf.relu(bn.forward(conv.forward(x), 'frozen'))
          return tf.sum(tf.mul(y, dy)) as tf.Scalar
        }),
      vars)
      const out = vars.map((v) => Float32Array.from(g[v.name].dataSync()))
      tf.dispose([value, ...Object.values(g)])
      return out
    }
    const a = grads(true)
    const b = grads(false)
    a.forEach((g, i) => expect(relativeError(g, b[i]), vars[i].name).toBeLessThan(1e-5))
    tf.dispose([x, dy])
    conv.dispose()
    bn.dispose()
  })
})
