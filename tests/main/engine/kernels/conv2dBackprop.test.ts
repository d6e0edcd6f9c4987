import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { relativeError, runOn, seededValues } from './compare'

import { cases, label, shapes } from './convCases'

// these are the pure-wasm kernels (no C++ toolchain); native.test.ts checks the native ones on the same cases
const nativeSetting = process.env.DAFT_NATIVE
process.env.DAFT_NATIVE = '0'
afterAll(() => {
  if (nativeSetting == null) delete process.env.DAFT_NATIVE
  else process.env.DAFT_NATIVE = nativeSetting
})

beforeAll(async () => {
  const info = await initBackend({ force: 'wasm' })
  expect(info.kernels.some((k) => k.endsWith('(native)'))).toBe(false)
  expect(info.kernels).toContain('Conv2DBackpropFilter')
  tf.env().set('IS_TEST', true) // makes the engine check every kernel for leaked data ids
})

describe('Conv2DBackpropFilter on wasm matches the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 1)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 2)
    const run = () =>
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape } as never,
      ) as tf.Tensor
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(wasm.length).toBe(tf.util.sizeFromShape(filterShape))
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5)
  })
})

describe('Conv2DBackpropInput on wasm matches the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const w = seededValues(tf.util.sizeFromShape(filterShape), 3)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 4)
    const run = () =>
      tf.engine().runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor(dy, dyShape), filter: tf.tensor(w, filterShape) },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: xShape } as never,
      ) as tf.Tensor
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(wasm.length).toBe(tf.util.sizeFromShape(xShape))
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5)
  })
})

describe('conv2d gradients through the public API', () => {
  it('tf.grads of a strided conv agrees across backends and leaks no tensors', async () => {
    const c = cases[cases.length - 1]
    const { xShape, filterShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 5)
    const w = seededValues(tf.util.sizeFromShape(filterShape), 6)
    const run = () => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').square().sum()
      return tf.grads(f)([tf.tensor(x, xShape), tf.tensor(w, filterShape)])
    }
    const before = tf.memory().numTensors
    const wasm = await runOn('wasm', run)
    expect(tf.memory().numTensors).toBe(before)
    const cpu = await runOn('cpu', run)
    expect(relativeError(wasm[0], cpu[0])).toBeLessThan(1e-5)
    expect(relativeError(wasm[1], cpu[1])).toBeLessThan(1e-5)
  })

  it('rejects a dy whose shape does not match the convolution, naming the kernel', async () => {
    await tf.setBackend('wasm')
    const x = tf.zeros([1, 5, 5, 2])
    const dy = tf.zeros([1, 4, 4, 3])
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3],
      } as never),
    ).toThrow(/Conv2DBackpropFilter: dy has shape \[1,4,4,3\]/)
    tf.dispose([x, dy])
  })
})
