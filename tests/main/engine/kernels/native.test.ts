import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { configureNative, loadNative, nativeInfo, nativeLoadError } from '../../../../src/main/engine/kernels'
import { relativeError, runOn, seededValues } from './compare'
import { EPS, SHAPES, bnOutputs, makeCase } from './bnCases'
import { cases as smallCases, label, shapes, type Case } from './convCases'

// wider layers: both micro-kernel widths (<= one vector of channels / two), K beyond one 256-deep block, row tails
const cases: Case[] = [
  ...smallCases,
  { batch: 3, h: 8, w: 8, cin: 16, cout: 16, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 2, h: 9, w: 9, cin: 32, cout: 64, f: 3, strides: [2, 2], pad: 'same' },
  { batch: 2, h: 5, w: 7, cin: 40, cout: 33, f: 3, strides: [1, 1], pad: 'valid' },
  { batch: 2, h: 6, w: 6, cin: 64, cout: 24, f: 1, strides: [1, 1], pad: 'valid' },
  { batch: 1, h: 15, w: 13, cin: 3, cout: 20, f: 7, strides: [2, 2], pad: 3 },
  // the direct (no im2col) path: narrow layers with output rows of >= 8 pixels, row tails, both tile widths
  { batch: 2, h: 9, w: 13, cin: 16, cout: 16, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 2, h: 6, w: 21, cin: 8, cout: 20, f: 3, strides: [1, 1], pad: 'valid' },
  { batch: 3, h: 11, w: 19, cin: 32, cout: 40, f: 3, strides: [2, 2], pad: 'same' },
  { batch: 1, h: 10, w: 30, cin: 3, cout: 16, f: 5, strides: [2, 1], pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
]

let isas: string[] = []

beforeAll(async () => {
  const backend = await initBackend({ force: 'wasm' })
  // the CI machine has a C++ toolchain: a missing addon is a broken build, not a skipped path
  expect(loadNative(), nativeLoadError()).not.toBeNull()
  expect(backend.kernels).toEqual(
    expect.arrayContaining(['Add (native)', 'Relu (native)', 'Slice (native)', 'StridedSlice (native)', 'PadV2 (native)', 'Conv2D (native)', 'FusedConv2D (native)', 'Conv2DBackpropFilter (native)', 'Conv2DBackpropInput (native)', 'DaftReluGrad (native)', 'BatchNormTrainNHWC (native)', 'BatchNormTrainNHWCGrad (native)']),
  )
  isas = nativeInfo()!.isas
  expect(isas).toContain('generic')
  tf.env().set('IS_TEST', true)
})

function kernelRuns(c: Case) {
  const { xShape, filterShape, dyShape } = shapes(c)
  const x = seededValues(tf.util.sizeFromShape(xShape), 11)
  const w = seededValues(tf.util.sizeFromShape(filterShape), 12)
  const dy = seededValues(tf.util.sizeFromShape(dyShape), 13)
  const bias = seededValues(c.cout, 14)
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined }
  return {
    Conv2D: () => tf.engine().runKernel('Conv2D', { x: tf.tensor(x, xShape), filter: tf.tensor(w, filterShape) }, attrs as never) as tf.Tensor,
    'FusedConv2D (bias, relu)': () =>
      tf.engine().runKernel(
        'FusedConv2D',
        { x: tf.tensor(x, xShape), filter: tf.tensor(w, filterShape), bias: tf.tensor1d(bias) },
        { ...attrs, activation: 'relu', leakyreluAlpha: 0 } as never,
      ) as tf.Tensor,
    Conv2DBackpropFilter: () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, { ...attrs, filterShape } as never) as tf.Tensor,
    Conv2DBackpropInput: () =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dy, dyShape), filter: tf.tensor(w, filterShape) }, { ...attrs, inputShape: xShape } as never) as tf.Tensor,
  }
}

describe('native convolution kernels match the cpu backend (max rel. error < 1e-5), on every instruction set here', () => {
  const rows = cases.flatMap((c) => ['Conv2D', 'FusedConv2D (bias, relu)', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'].map((k) => [`${k} ${label(c)}`, k, c] as const))
  it.each(rows)('%s', async (_, kernel, c) => {
    const run = kernelRuns(c)[kernel as keyof ReturnType<typeof kernelRuns>]
    const [cpu] = await runOn('cpu', run)
    for (const isa of isas) {
      for (const direct of [true, false]) {
        configureNative({ isa, direct })
        const [native] = await runOn('wasm', run)
        expect(native.length).toBe(cpu.length)
        expect(relativeError(native, cpu), `${isa}${direct ? '' : ' (im2col only)'}`).toBeLessThan(1e-5)
      }
    }
    configureNative({ isa: isas[0], direct: true })
  })
})

describe('native BatchNorm loops match tfjs-core on cpu (max rel. error < 1e-5)', () => {
  // the shared shapes plus ones large enough to be split over the threads
  const shapes = [...SHAPES, [8, 16, 16, 16], [64, 8, 8, 64], [3, 7, 7, 12]]
  for (const mode of ['train', 'frozen'] as const) {
    it(`${mode} mode: output, statistics and the gradients of x, gamma and beta, on every instruction set`, async () => {
      const labels = mode === 'train' ? ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'] : ['y', 'dx', 'dgamma', 'dbeta']
      for (const [i, shape] of shapes.entries()) {
        for (const offset of [0, 3]) {
          const k = makeCase(shape, 10 * i + 1, offset)
          const ref = await runOn('cpu', bnOutputs(k, mode, false))
          for (const isa of isas) {
            configureNative({ isa })
            const got = await runOn('wasm', bnOutputs(k, mode, true))
            labels.forEach((lab, j) => {
              const err = relativeError(got[j], ref[j])
              expect(err, `${isa} ${mode} [${shape}] offset ${offset} ${lab}: ${err}`).toBeLessThan(1e-5)
            })
          }
        }
      }
      configureNative({ isa: isas[0] })
    })
  }

  it('gives the same batch statistics from run to run and leaves nothing on the heap', async () => {
    const k = makeCase([32, 8, 8, 32], 99, 2)
    const backend = tf.findBackend('wasm')!
    const before = backend.numDataIds()
    const a = await runOn('wasm', bnOutputs(k, 'train', true))
    const b = await runOn('wasm', bnOutputs(k, 'train', true))
    a.forEach((t, j) => expect(Buffer.from(t.buffer).equals(Buffer.from(b[j].buffer))).toBe(true))
    expect(backend.numDataIds()).toBe(before)
    expect(EPS).toBe(1e-5)
  })
})

describe('native Add, Relu, Slice and PadV2 equal the cpu backend exactly', () => {
  const values = (shape: number[], seed: number) => tf.tensor(seededValues(tf.util.sizeFromShape(shape), seed), shape)
  const same = async (label: string, run: () => tf.Tensor) => {
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(Array.from(wasm), label).toEqual(Array.from(cpu))
  }

  it('Add of equal shapes (and a broadcasting Add through the kernel it replaced), Relu', async () => {
    for (const shape of [[7], [3, 5], [2, 9, 9, 16], [64, 8, 8, 64], [1, 2, 3, 4, 5]]) {
      await same(`add [${shape}]`, () => tf.add(values(shape, 1), values(shape, 2)))
      await same(`relu [${shape}]`, () => tf.relu(values(shape, 3)))
    }
    await same('broadcast add', () => tf.add(values([2, 4, 4, 3], 4), values([3], 5)))
    await same('int add', () => tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4, 5, 6], [3], 'int32')))
  })

  it('Slice with any begin and size (-1 = to the end), rank 1 to 5', async () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[10], [3], [4]],
      [[6, 7], [1, 2], [4, -1]],
      [[4, 8, 8, 32], [0, 0, 0, 8], [-1, -1, -1, 16]],
      [[4, 8, 8, 32], [1, 2, 3, 0], [2, 5, 4, 32]],
      [[3, 4, 5, 6, 7], [1, 0, 2, 1, 3], [2, 4, 2, 4, 3]],
      [[5, 5], [2, 2], [0, 3]],
    ]
    for (const [shape, begin, size] of cases) await same(`slice [${shape}] ${begin} ${size}`, () => tf.slice(values(shape, 6), begin, size))
  })

  it('StridedSlice: subsampling (option-A shortcuts) and plain ranges; masks go to the kernel it replaced', async () => {
    const cases: Array<[number[], number[], number[], number[]]> = [
      [[4, 8, 8, 16], [0, 0, 0, 0], [4, 8, 8, 16], [1, 2, 2, 1]],
      [[3, 9, 7, 5], [1, 1, 0, 1], [3, 8, 7, 4], [2, 3, 2, 1]],
      [[6, 10], [1, 2], [6, 9], [2, 1]],
      [[5, 6, 7], [0, 0, 1], [5, 6, 7], [1, 1, 3]],
    ]
    for (const [shape, begin, end, strides] of cases) {
      await same(`strided slice [${shape}] ${begin} ${end} ${strides}`, () => tf.stridedSlice(values(shape, 9), begin, end, strides))
    }
    await same('strided slice with masks', () => tf.stridedSlice(values([4, 6], 10), [1, 0], [3, 0], [1, 2], 0, 2))
  })

  it('PadV2 with a constant on any axes, and its gradient (a Slice)', async () => {
    const cases: Array<[number[], Array<[number, number]>, number]> = [
      [[5], [[2, 3]], 0],
      [[2, 4, 4, 8], [[0, 0], [0, 0], [0, 0], [4, 4]], 0],
      [[2, 3, 3, 2], [[1, 0], [2, 1], [0, 3], [1, 1]], -1.5],
    ]
    for (const [shape, paddings, value] of cases) {
      await same(`pad [${shape}] ${JSON.stringify(paddings)}`, () => tf.pad(values(shape, 7), paddings, value))
      await same(`pad grad [${shape}]`, () => tf.grad((x: tf.Tensor) => tf.pad(x, paddings, value).square())(values(shape, 8)))
    }
  })
})

describe('native kernels: threads, determinism, fallbacks, errors', () => {
  it('gives bit-identical gradients from run to run, with 1 or 2 threads matching the cpu backend', async () => {
    const c: Case = { batch: 8, h: 16, w: 16, cin: 16, cout: 32, f: 3, strides: [1, 1], pad: 'same' }
    const run = kernelRuns(c).Conv2DBackpropFilter
    const [cpu] = await runOn('cpu', run)
    for (const threads of [1, 2]) {
      configureNative({ threads })
      expect(nativeInfo()!.threads).toBe(threads)
      const [a] = await runOn('wasm', run)
      const [b] = await runOn('wasm', run)
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true)
      expect(relativeError(a, cpu)).toBeLessThan(1e-5)
    }
  })

  it('thread pool: the same bits whether waiting threads spin or sleep, counts its parallel calls, spin limit configurable', async () => {
    const c: Case = { batch: 8, h: 16, w: 16, cin: 32, cout: 32, f: 3, strides: [1, 1], pad: 'same' }
    const runs = kernelRuns(c)
    configureNative({ threads: 2 })
    const results: Float32Array[][] = []
    try {
      for (const spinUs of [0, 300]) {
        const info = configureNative({ spinUs })!
        expect(info.spinUs).toBe(spinUs)
        if (spinUs === 0) expect(info.spinning).toBe(false)
        const before = nativeInfo()!.poolCalls
        const out: Float32Array[] = []
        for (const run of [runs.Conv2D, runs.Conv2DBackpropFilter, runs.Conv2DBackpropInput]) out.push((await runOn('wasm', run))[0])
        const after = nativeInfo()!
        // three convolutions over 8 images, each split over the two threads at least once
        expect(after.poolCalls - before).toBeGreaterThanOrEqual(3)
        expect(after.poolWakeUs).toBeGreaterThanOrEqual(0)
        expect(after.poolTailUs).toBeGreaterThanOrEqual(0)
        results.push(out)
      }
    } finally {
      configureNative({ spinUs: 300 })
    }
    results[0].forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(results[1][i].buffer)), `kernel ${i}`).toBe(true))
  })

  it('tf.grads through a conv + bias + relu leaks no tensors and agrees with cpu', async () => {
    const xShape: [number, number, number, number] = [2, 9, 9, 6]
    const wShape: [number, number, number, number] = [3, 3, 6, 10]
    const x = seededValues(tf.util.sizeFromShape(xShape), 21)
    const w = seededValues(tf.util.sizeFromShape(wShape), 22)
    const b = seededValues(10, 23)
    const run = () => {
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 2, pad: 'same', bias: bb, activation: 'relu' }).square().sum()
      return tf.grads(f)([tf.tensor(x, xShape), tf.tensor(w, wShape), tf.tensor1d(b)])
    }
    const before = tf.memory().numTensors
    const native = await runOn('wasm', run)
    expect(tf.memory().numTensors).toBe(before)
    const cpu = await runOn('cpu', run)
    native.forEach((g, i) => expect(relativeError(g, cpu[i])).toBeLessThan(1e-5))
  })

  it('computes the ReLU gradient in one kernel: dy where x > 0, zero at and below 0, as tfjs-core on cpu', async () => {
    expect(tf.getKernel('DaftReluGrad', 'wasm')).toBeDefined()
    const values = seededValues(3 * 5 * 7 * 9, 41)
    values[0] = 0
    values[1] = -0
    const dyv = seededValues(values.length, 42)
    const run = () => tf.grad((x: tf.Tensor) => tf.relu(x))(tf.tensor(values, [3, 5, 7, 9]), tf.tensor(dyv, [3, 5, 7, 9]))
    const before = tf.memory().numTensors
    const [wasm] = await runOn('wasm', run)
    expect(tf.memory().numTensors).toBe(before)
    const [cpu] = await runOn('cpu', run)
    // equal values (tfjs-core's dy * 0 gives -0 where dy < 0; the kernel writes +0)
    expect(Array.from(wasm, (v) => v + 0)).toEqual(Array.from(cpu, (v) => v + 0))
    expect(wasm[0]).toBe(0)
    expect(wasm.filter((v, i) => v !== 0 && values[i] <= 0)).toHaveLength(0)
  })

  it('dilated forward convolutions (direct and im2col paths) match cpu', async () => {
    const x = seededValues(2 * 14 * 17 * 8, 51)
    const w = seededValues(3 * 3 * 8 * 12, 52)
    const run = () => tf.conv2d(tf.tensor(x, [2, 14, 17, 8]) as tf.Tensor4D, tf.tensor(w, [3, 3, 8, 12]) as tf.Tensor4D, 1, 'same', 'NHWC', 2)
    const [cpu] = await runOn('cpu', run)
    for (const direct of [true, false]) {
      configureNative({ direct })
      const [native] = await runOn('wasm', run)
      expect(relativeError(native, cpu)).toBeLessThan(1e-5)
    }
  })

  it('hands cases it does not take (relu6, a prelu) to the kernel it replaced', async () => {
    const x = seededValues(2 * 7 * 7 * 3, 31)
    const w = seededValues(3 * 3 * 3 * 4, 32)
    const run = () =>
      tf.fused.conv2d({ x: tf.tensor(x, [2, 7, 7, 3]) as tf.Tensor4D, filter: tf.tensor(w, [3, 3, 3, 4]) as tf.Tensor4D, strides: 1, pad: 'same', activation: 'relu6' })
    const [wasm] = await runOn('wasm', run)
    const [cpu] = await runOn('cpu', run)
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5)
  })

  it('rejects a tensor outside the heap and a wrong parameter count with a clear error', () => {
    const { addon } = loadNative()!
    const heap = new ArrayBuffer(1024)
    const shape = [1, 4, 4, 2, 3, 3, 2, 4, 4, 1, 1, 1, 1, 1, 1]
    expect(() => addon.conv2d(heap, Float64Array.from([0, 0, -1, 4096, 0, ...shape]))).toThrow(/out lies outside the wasm heap/)
    expect(() => addon.conv2d(heap, Float64Array.from([0, 0]))).toThrow(/expected 20 parameters, got 2/)
    const fits = [0, 0, -1, 512, 0, ...shape]
    expect(() => addon.conv2d(heap, Float64Array.from(fits), new Float32Array(2), null)).toThrow(/scale and shift together/)
    expect(() => addon.conv2d(heap, Float64Array.from(fits), new Float32Array(1), new Float32Array(1))).toThrow(/scale must be a typed array of the channel count/)
    expect(() => addon.conv2dBackpropFilter(heap, Float64Array.from([0, 0, 0, 1, 0, 4, 2, 3, 3, 2, 4, 4, 1, 1, 1, 1, 1, 1]))).toThrow(/invalid convolution shape/)
    expect(() => addon.copyRegion(heap, Float64Array.from([0, 0, 1, 4, 4, 2, 0, 3, 1, NaN]))).toThrow(/region out of bounds/)
    expect(() => addon.copyRegion(heap, Float64Array.from([0, 0, 1, 7, 4, 1, 0, 4, 2, NaN]))).toThrow(/region out of bounds/)
    expect(() => configureNative({ isa: 'sse9' })).toThrow(/instruction set 'sse9' is not supported/)
  })
})
