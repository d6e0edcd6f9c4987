import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { relativeError, runOn, seededValues } from './compare'

type Pad = 'same' | 'valid' | number
interface Case {
  batch: number
  h: number
  w: number
  c: number
  m: number
  f: number
  strides: [number, number]
  pad: Pad
}

const cases: Case[] = []
let i = 0
for (const f of [1, 3, 5, 7]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const m of [1, 2]) {
        const h = [5, 7, 9, 11, 13].find((d) => d >= f + (i % 3))!
        cases.push({ batch: 1 + (i % 4), h, w: h + 2, c: 1 + ((i * 3) % 8), m, f, strides: [s, s], pad })
        i++
      }
    }
  }
}
cases.push({ batch: 2, h: 9, w: 6, c: 3, m: 2, f: 3, strides: [2, 1], pad: 'same' })
cases.push({ batch: 2, h: 7, w: 8, c: 4, m: 1, f: 3, strides: [2, 2], pad: 1 })
// a MobileNetV2-like stride-2 layer
cases.push({ batch: 2, h: 28, w: 28, c: 8, m: 1, f: 3, strides: [2, 2], pad: 'same' })

function label(c: Case): string {
  return `N${c.batch} ${c.h}x${c.w} C${c.c} x${c.m} f${c.f} s${c.strides} pad ${JSON.stringify(c.pad)}`
}

function shapes(c: Case) {
  const xShape: [number, number, number, number] = [c.batch, c.h, c.w, c.c]
  const filterShape: [number, number, number, number] = [c.f, c.f, c.c, c.m]
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.strides, 1, c.pad, undefined, true)
  return { xShape, filterShape, dyShape: info.outShape }
}

beforeAll(async () => {
  const info = await initBackend({ force: 'wasm' })
  expect(info.kernels).toEqual(
    expect.arrayContaining(['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']),
  )
  tf.env().set('IS_TEST', true)
})

describe('DepthwiseConv2dNativeBackpropFilter on wasm matches the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 11)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 12)
    const run = () =>
      tf.engine().runKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) },
        { strides: c.strides, pad: c.pad, dilations: 1, dimRoundingMode: undefined, filterShape } as never,
      ) as tf.Tensor
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(wasm.length).toBe(tf.util.sizeFromShape(filterShape))
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5)
  })
})

describe('DepthwiseConv2dNativeBackpropInput on wasm matches the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const w = seededValues(tf.util.sizeFromShape(filterShape), 13)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 14)
    const run = () =>
      tf.engine().runKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: tf.tensor(dy, dyShape), filter: tf.tensor(w, filterShape) },
        { strides: c.strides, pad: c.pad, dilations: 1, dimRoundingMode: undefined, inputShape: xShape } as never,
      ) as tf.Tensor
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(wasm.length).toBe(tf.util.sizeFromShape(xShape))
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5)
  })
})

describe('depthwiseConv2d gradients through the public API', () => {
  it('tf.grads of a strided depthwise conv with multiplier 2 agree across backends', async () => {
    const xShape = [3, 11, 9, 5]
    const filterShape = [3, 3, 5, 2]
    const x = seededValues(tf.util.sizeFromShape(xShape), 15)
    const w = seededValues(tf.util.sizeFromShape(filterShape), 16)
    const run = () => {
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.relu6(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')).square().sum()
      return tf.grads(f)([tf.tensor(x, xShape), tf.tensor(w, filterShape)])
    }
    const before = tf.memory().numTensors
    const wasm = await runOn('wasm', run)
    expect(tf.memory().numTensors).toBe(before)
    const cpu = await runOn('cpu', run)
    expect(relativeError(wasm[0], cpu[0])).toBeLessThan(1e-5)
    expect(relativeError(wasm[1], cpu[1])).toBeLessThan(1e-5)
  })
})
