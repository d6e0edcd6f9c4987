/** Identity on wasm shares the heap block (no copy) and stays correct under dispose, variables and gradients. */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

describe('Identity on wasm', () => {
  it('shares the data, outlives its source, frees the block with the last reference', () => {
    const backend = tf.findBackend('wasm')!
    const before = backend.numDataIds()
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2])
    const y = tf.clone(x)
    expect(backend.numDataIds()).toBe(before + 1) // one block, two tensors
    x.dispose()
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4])
    const z = tf.cast(y, 'float32') // same dtype: Identity
    y.dispose()
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3, 4])
    z.dispose()
    expect(backend.numDataIds()).toBe(before)
  })

  it('keeps variables independent of the tensors they were made from or assigned', () => {
    const init = tf.tensor1d([1, 2, 3])
    const v = tf.variable(init)
    const copy = tf.clone(v)
    const next = tf.tensor1d([7, 8, 9])
    v.assign(next)
    next.dispose()
    expect(Array.from(init.dataSync())).toEqual([1, 2, 3])
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3])
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9])
    tf.dispose([init, v, copy])
  })

  it('gives the same gradient as before (clones on the tape)', () => {
    const x = tf.tensor1d([1, -2, 3])
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.clone(t)), t)))(x)
    expect(Array.from(g.dataSync())).toEqual([2, 0, 6])
    tf.dispose([x, g])
  })
})
