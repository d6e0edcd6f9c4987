// GlobalAvgPool2d: the mean over H and W, and a gradient (one broadcast of dy / (H W)) equal to the bit to tfjs's own
// Mean gradient, on wasm and cpu.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { GlobalAvgPool2d } from '../../../../src/main/engine/nn'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('GlobalAvgPool2d', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: value and gradient equal tf.mean's over [1, 2], bit for bit, on odd shapes`, async () => {
      await tf.setBackend(backend)
      try {
        const pool = new GlobalAvgPool2d()
        for (const shape of [[2, 3, 5, 7], [4, 8, 8, 64], [1, 1, 1, 3]] as [number, number, number, number][]) {
          const x = tf.randomNormal(shape, 0, 1, 'float32', 5)
          const dy = tf.randomNormal([shape[0], shape[3]], 0, 1, 'float32', 6)
          const before = tf.memory().numTensors
          const [ours, theirs] = [(t: tf.Tensor) => pool.forward(t), (t: tf.Tensor) => tf.mean(t, [1, 2])].map((f) => {
            const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => f(t))([x], dy)
            const out = [value.dataSync(), grads[0].dataSync()].map((a) => Buffer.from(Float32Array.from(a).buffer))
            tf.dispose([value, ...grads])
            return out
          })
          expect(ours[0].equals(theirs[0]), `value ${shape}`).toBe(true)
          expect(ours[1].equals(theirs[1]), `gradient ${shape}`).toBe(true)
          expect(tf.memory().numTensors).toBe(before)
          tf.dispose([x, dy])
        }
        expect(() => pool.forward(tf.zeros([2, 3]))).toThrow(/NHWC/)
      } finally {
        await tf.setBackend('wasm')
      }
    })
  }
})
