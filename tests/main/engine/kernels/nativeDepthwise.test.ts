// The native depthwise convolution kernels (forward, input and filter gradients) and ReLU6 (and its gradient) against
// the cpu backend, on every instruction set this CPU has.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { configureNative, loadNative, nativeInfo, nativeLoadError } from '../../../../src/main/engine/kernels'
import { relativeError, runOn, seededValues } from './compare'

interface DwCase {
  batch: number
  h: number
  w: number
  c: number
  f: number
  strides: [number, number]
  pad: 'same' | 'valid' | number
  dilation?: number
}

// kernel 3 (and 5, 1), strides 1 and 2, same / valid / explicit padding, odd sizes, channel counts below, at and
// beyond one and two vectors of every instruction set (4, 8, 16 floats) and not multiples of them
const cases: DwCase[] = []
{
  const channels = [1, 3, 8, 13, 16, 20, 33, 48]
  let i = 0
  for (const s of [1, 2] as const) {
    for (const pad of ['same', 'valid'] as const) {
      for (const c of channels) {
        const h = [5, 7, 9, 11][i % 4]
        cases.push({ batch: 1 + (i % 3), h, w: h + (i % 2) * 3, c, f: 3, strides: [s, s], pad })
        i++
      }
    }
  }
  cases.push({ batch: 2, h: 12, w: 9, c: 24, f: 5, strides: [2, 2], pad: 'same' })
  cases.push({ batch: 2, h: 6, w: 6, c: 17, f: 1, strides: [1, 1], pad: 'valid' })
  cases.push({ batch: 1, h: 8, w: 10, c: 12, f: 3, strides: [2, 1], pad: 1 })
  // MobileNetV2-like: 112 -> 56 stride 2 and a wide channel count
  cases.push({ batch: 2, h: 28, w: 28, c: 48, f: 3, strides: [2, 2], pad: 'same' })
  cases.push({ batch: 2, h: 14, w: 14, c: 144, f: 3, strides: [1, 1], pad: 'same' })
}
const label = (c: DwCase): string => `N${c.batch} ${c.h}x${c.w} C${c.c} f${c.f} s${c.strides} pad ${JSON.stringify(c.pad)}${c.dilation ? ` d${c.dilation}` : ''}`

let isas: string[] = []

beforeAll(async () => {
  const backend = await initBackend({ force: 'wasm' })
  expect(loadNative(), nativeLoadError()).not.toBeNull()
  expect(backend.kernels).toEqual(
    expect.arrayContaining([
      'DepthwiseConv2dNative (native)', 'DepthwiseConv2dNativeBackpropInput (native)', 'DepthwiseConv2dNativeBackpropFilter (native)',
      'Relu6 (native)', 'DaftRelu6Grad (native)',
    ]),
  )
  isas = nativeInfo()!.isas
  tf.env().set('IS_TEST', true)
})

function runs(c: DwCase) {
  const xShape = [c.batch, c.h, c.w, c.c] as [number, number, number, number]
  const fShape = [c.f, c.f, c.c, 1] as [number, number, number, number]
  const x = seededValues(tf.util.sizeFromShape(xShape), 61)
  const w = seededValues(tf.util.sizeFromShape(fShape), 62)
  const dil = c.dilation ?? 1
  const conv = (xx: tf.Tensor, ww: tf.Tensor) => tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad as 'same', 'NHWC', dil)
  const outShape = (): number[] => tf.tidy(() => conv(tf.zeros(xShape), tf.zeros(fShape)).shape)
  return {
    forward: () => conv(tf.tensor(x, xShape), tf.tensor(w, fShape)),
    // both gradients of sum(conv * dy) through tfjs-core's gradient (DepthwiseConv2dNativeBackpropInput / Filter)
    gradients: () => {
      const dy = tf.tensor(seededValues(tf.util.sizeFromShape(outShape()), 63), outShape())
      return tf.grads((xx: tf.Tensor, ww: tf.Tensor) => conv(xx, ww).mul(dy).sum())([tf.tensor(x, xShape), tf.tensor(w, fShape)])
    },
  }
}

describe('native depthwise convolutions match the cpu backend (max rel. error < 1e-5), on every instruction set here', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s: forward, input and filter gradients', async (_, c) => {
    const r = runs(c)
    const cpu = [...(await runOn('cpu', r.forward)), ...(await runOn('cpu', r.gradients))]
    for (const isa of isas) {
      configureNative({ isa })
      const got = [...(await runOn('wasm', r.forward)), ...(await runOn('wasm', r.gradients))]
      ;['forward', 'dx', 'dfilter'].forEach((k, i) => {
        expect(got[i].length).toBe(cpu[i].length)
        expect(relativeError(got[i], cpu[i]), `${isa} ${k}`).toBeLessThan(1e-5)
      })
    }
    configureNative({ isa: isas[0] })
  })

  it('the addon computes a depthwise convolution in a heap it is given, and rejects what it does not take', () => {
    const { addon } = loadNative()!
    // x [1, 3, 3, 2] at 0, filter [3, 3, 2, 1] at 128, out [1, 3, 3, 2] at 256; 'same' padding (1 on each side)
    const heap = new ArrayBuffer(512)
    const f = new Float32Array(heap)
    for (let i = 0; i < 18; i++) f[i] = i + 1
    for (let i = 0; i < 18; i++) f[32 + i] = i % 2 === 0 ? 1 : 0 // channel 0 sums its 3x3 window, channel 1 gives 0
    const shape = [1, 3, 3, 2, 3, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1]
    addon.depthwiseConv2d(heap, Float64Array.from([0, 128, 256, ...shape]))
    const ch0 = [1, 3, 5, 7, 9, 11, 13, 15, 17]
    const window = (oy: number, ox: number) => {
      let s = 0
      for (let y = oy - 1; y <= oy + 1; y++) for (let x = ox - 1; x <= ox + 1; x++) if (y >= 0 && y < 3 && x >= 0 && x < 3) s += ch0[y * 3 + x]
      return s
    }
    for (let p = 0; p < 9; p++) {
      expect(f[64 + 2 * p]).toBe(window(Math.floor(p / 3), p % 3))
      expect(f[64 + 2 * p + 1]).toBe(0)
    }
    const multiplier2 = [1, 3, 3, 2, 3, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1]
    expect(() => addon.depthwiseConv2d(heap, Float64Array.from([0, 128, 256, ...multiplier2]))).toThrow(/channel multiplier of 1/)
    expect(() => addon.depthwiseConv2dBackpropFilter(heap, Float64Array.from([0, 128, 4096, ...shape]))).toThrow(/dw lies outside the wasm heap/)
    expect(() => addon.elementwise(heap, Float64Array.from([4, 0, -1, 256, 9]))).toThrow(/needs two tensors/)
  })

  it('gives bit-identical filter gradients from run to run and leaves no tensors behind', async () => {
    const r = runs({ batch: 4, h: 16, w: 16, c: 40, f: 3, strides: [1, 1], pad: 'same' })
    const before = tf.memory().numTensors
    const a = await runOn('wasm', r.gradients)
    const b = await runOn('wasm', r.gradients)
    expect(tf.memory().numTensors).toBe(before)
    expect(Buffer.from(a[1].buffer).equals(Buffer.from(b[1].buffer))).toBe(true)
  })

  it('dilated forward convolutions (tfjs has no dilated depthwise gradient) match cpu', async () => {
    for (const c of [
      { batch: 2, h: 13, w: 11, c: 20, f: 3, strides: [1, 1], pad: 'same', dilation: 2 },
      { batch: 1, h: 12, w: 15, c: 9, f: 3, strides: [1, 1], pad: 'valid', dilation: 3 },
    ] as DwCase[]) {
      const r = runs(c)
      const [cpu] = await runOn('cpu', r.forward)
      for (const isa of isas) {
        configureNative({ isa })
        const [got] = await runOn('wasm', r.forward)
        expect(relativeError(got, cpu), `${isa} ${label(c)}`).toBeLessThan(1e-5)
      }
    }
    configureNative({ isa: isas[0] })
  })

  it('hands channel multipliers > 1 to the kernels it replaced', async () => {
    const x = seededValues(2 * 7 * 7 * 3, 71)
    const w = seededValues(3 * 3 * 3 * 2, 72)
    const run = () => tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same').square().sum())([tf.tensor(x, [2, 7, 7, 3]), tf.tensor(w, [3, 3, 3, 2])])
    const cpu = await runOn('cpu', run)
    const wasm = await runOn('wasm', run)
    wasm.forEach((g, i) => expect(relativeError(g, cpu[i])).toBeLessThan(1e-5))
  })
})

describe('native ReLU6 and its gradient equal the cpu backend', () => {
  it('on values around 0 and 6 (incl. exactly 0 and 6), every instruction set', async () => {
    const n = 3 * 5 * 7 * 9
    const values = seededValues(n, 81).map((v) => v * 8)
    values[0] = 0
    values[1] = 6
    values[2] = -0
    values[3] = 6.0000005
    const dyv = seededValues(n, 82)
    const fwd = () => tf.relu6(tf.tensor(values, [3, 5, 7, 9]))
    const grad = () => tf.grad((x: tf.Tensor) => tf.relu6(x))(tf.tensor(values, [3, 5, 7, 9]), tf.tensor(dyv, [3, 5, 7, 9]))
    const [cpuF] = await runOn('cpu', fwd)
    const [cpuG] = await runOn('cpu', grad)
    for (const isa of isas) {
      configureNative({ isa })
      const before = tf.memory().numTensors
      const [f] = await runOn('wasm', fwd)
      const [g] = await runOn('wasm', grad)
      expect(tf.memory().numTensors).toBe(before)
      expect(Array.from(f), isa).toEqual(Array.from(cpuF))
      // equal values (tfjs-core's dy * 0 gives -0 where dy < 0; the kernel writes +0)
      expect(Array.from(g, (v) => v + 0), isa).toEqual(Array.from(cpuG, (v) => v + 0))
    }
    configureNative({ isa: isas[0] })
  })
})
