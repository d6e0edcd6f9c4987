import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { relativeError, runOn, seededValues } from './compare'

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding
interface Case {
  batch: number
  h: number
  w: number
  cin: number
  cout: number
  f: number
  strides: [number, number]
  pad: Pad
}

const cases: Case[] = []
let i = 0
for (const f of [1, 3, 5, 7]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      const h = [5, 7, 9, 11, 13].find((d) => d >= f + i % 3)!
      cases.push({ batch: 1 + (i % 4), h, w: h + 2, cin: 1 + ((i * 3) % 8), cout: 1 + ((i * 5 + 2) % 8), f, strides: [s, s], pad })
      i++
    }
  }
}
// non-square strides, numeric and explicit paddings, spatial sizes a stride does not divide
cases.push({ batch: 2, h: 9, w: 6, cin: 3, cout: 5, f: 3, strides: [2, 1], pad: 'same' })
cases.push({ batch: 3, h: 8, w: 11, cin: 4, cout: 2, f: 3, strides: [1, 2], pad: 'valid' })
cases.push({ batch: 2, h: 7, w: 7, cin: 2, cout: 3, f: 3, strides: [2, 2], pad: 1 })
cases.push({ batch: 1, h: 10, w: 9, cin: 5, cout: 4, f: 5, strides: [2, 2], pad: [[0, 0], [1, 2], [0, 3], [0, 0]] })
cases.push({ batch: 4, h: 32, w: 32, cin: 8, cout: 8, f: 3, strides: [2, 2], pad: 'same' })
// stride phases without taps (f < s), f = s, stride 3, even filters with asymmetric 'same' padding, 1x1 subsampling
cases.push({ batch: 2, h: 10, w: 9, cin: 3, cout: 4, f: 1, strides: [3, 3], pad: 'same' })
cases.push({ batch: 2, h: 9, w: 10, cin: 4, cout: 3, f: 2, strides: [2, 2], pad: 'valid' })
cases.push({ batch: 1, h: 11, w: 12, cin: 2, cout: 5, f: 3, strides: [3, 3], pad: 1 })
cases.push({ batch: 2, h: 8, w: 7, cin: 3, cout: 3, f: 4, strides: [2, 2], pad: 'same' })
cases.push({ batch: 3, h: 9, w: 9, cin: 6, cout: 5, f: 1, strides: [2, 2], pad: 'valid' })
// stride 1 with the output the input's size: the filter gradient's shifted-plane patch builder (odd/even filters)
cases.push({ batch: 2, h: 6, w: 9, cin: 3, cout: 4, f: 2, strides: [1, 1], pad: 'same' })
cases.push({ batch: 2, h: 7, w: 5, cin: 5, cout: 2, f: 4, strides: [1, 1], pad: 'same' })
cases.push({ batch: 1, h: 3, w: 3, cin: 2, cout: 3, f: 5, strides: [1, 1], pad: 'same' })

function label(c: Case): string {
  return `N${c.batch} ${c.h}x${c.w} ${c.cin}->${c.cout} f${c.f} s${c.strides} pad ${JSON.stringify(c.pad)}`
}

function shapes(c: Case) {
  const xShape: [number, number, number, number] = [c.batch, c.h, c.w, c.cin]
  const filterShape: [number, number, number, number] = [c.f, c.f, c.cin, c.cout]
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.strides, 1, c.pad as never)
  return { xShape, filterShape, dyShape: info.outShape }
}

beforeAll(async () => {
  const info = await initBackend({ force: 'wasm' })
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
