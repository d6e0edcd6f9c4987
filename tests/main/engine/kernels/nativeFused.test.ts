// Issue 17's native kernels against the cpu backend on every instruction set this CPU has: training BatchNorm + ReLU /
// ReLU6 as one kernel each way (DaftBatchNormTrainAct and its gradient), MaxPoolGrad, the StridedSlice gradient, the filter gradient by columns of
// dW (conv_filter_cols) as well as by rows, and Winograd F(2x2, 3x3) convolutions (forward with each epilogue, and the
// input gradient).
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { configureNative, loadNative, nativeInfo, nativeLoadError } from '../../../../src/main/engine/kernels'
import { batchNormTrainAct, hasBatchNormTrainAct, type BnActivation } from '../../../../src/main/engine/kernels/native'
import { BatchNorm2d } from '../../../../src/main/engine/nn'
import { relativeError, runOn, seededValues } from './compare'
import { cases as smallCases, label, shapes, type Case } from './convCases'

let isas: string[] = []

beforeAll(async () => {
  const backend = await initBackend({ force: 'wasm' })
  expect(loadNative(), nativeLoadError()).not.toBeNull()
  expect(backend.kernels).toEqual(
    expect.arrayContaining(['MaxPoolGrad (native)', 'DaftBatchNormTrainAct (native)', 'DaftBatchNormTrainActGrad (native)', 'DaftBatchNormTrainAddAct (native)', 'DaftBatchNormTrainAddActGrad (native)', 'DaftStridedSliceGrad (native)']),
  )
  isas = nativeInfo()!.isas
  expect(isas).toContain('generic')
  tf.env().set('IS_TEST', true)
})

/** on every instruction set (and each extra configuration), run on wasm and compare with the cpu backend's outputs */
async function againstCpu(what: string, ref: () => tf.Tensor | tf.Tensor[], native: () => tf.Tensor | tf.Tensor[], labels: string[], configs: Array<Parameters<typeof configureNative>[0]> = [{}]): Promise<void> {
  const cpu = await runOn('cpu', ref)
  expect(cpu.length).toBe(labels.length)
  try {
    for (const isa of isas) {
      for (const config of configs) {
        configureNative({ isa, ...config })
        const got = await runOn('wasm', native)
        labels.forEach((lab, j) => {
          const err = relativeError(got[j], cpu[j])
          expect(err, `${what} ${isa} ${JSON.stringify(config)} ${lab}: ${err}`).toBeLessThan(1e-5)
        })
      }
    }
  } finally {
    configureNative({ isa: isas[0], filterCols: 'auto', winograd: 'auto', direct: true, threads: 2 })
  }
}

// ------------------------------------------------------------------------------------------------ BatchNorm + activation

const EPS = 1e-5
// channel counts below, at and beyond one and two vectors of every instruction set (4, 8, 16 floats) and not
// multiples of them; odd spatial sizes, one image, 1x1 spatial, rank 2, and shapes large enough to split over threads
const BN_SHAPES: number[][] = [
  [2, 3, 3, 1], [3, 5, 7, 4], [4, 9, 9, 16], [1, 6, 5, 3], [5, 1, 1, 7], [7, 11], [2, 4, 4, 24], [3, 2, 2, 8],
  [2, 7, 5, 13], [3, 5, 5, 33], [2, 3, 3, 48], [8, 16, 16, 16], [64, 8, 8, 64], [16, 8, 8, 40], [2, 2, 2, 520],
]

function bnCase(shape: number[], seed: number, offset: number, activation: BnActivation, withResidual = false) {
  const size = tf.util.sizeFromShape(shape)
  const c = shape[shape.length - 1]
  // ReLU6 cases with gamma up to ~4.5 and beta up to 2: a good share of y above 6 (and below 0)
  const wide = activation === 'relu6'
  const x = seededValues(size, seed).map((v) => 2 * v + offset)
  const g = seededValues(c, seed + 2).map((v) => (wide ? 3 + 1.5 * v : 1 + 0.5 * v))
  const b = seededValues(c, seed + 3).map((v) => (wide ? 2 * v : 0.3 * v))
  const res = withResidual ? seededValues(size, seed + 4).map((v) => 1.5 * v) : null
  // values whose y = BN(x) lies within 1e-4 of a kink (0, and 6 for ReLU6) are moved off it: there the mask depends on
  // y's last bits, which the cpu's formula and the kernel's round differently (one such element at y = 5e-9 in
  // [64, 8, 8, 64] gave a 4% error in dx)
  const kinks = activation === 'relu' ? [0] : activation === 'relu6' ? [0, 6] : []
  for (let pass = 0; pass < 3 && kinks.length; pass++) {
    const rows = size / c
    for (let k = 0; k < c; k++) {
      let s1 = 0
      let s2 = 0
      for (let i = k; i < size; i += c) s1 += x[i]
      const mean = s1 / rows
      for (let i = k; i < size; i += c) s2 += (x[i] - mean) ** 2
      const a = g[k] / Math.sqrt(s2 / rows + EPS)
      for (let i = k; i < size; i += c) {
        const y = (x[i] - mean) * a + b[k] + (res ? res[i] : 0)
        if (kinks.some((q) => Math.abs(y - q) < 1e-4)) x[i] += 1e-3 / a
      }
    }
  }
  return { shape, x, dy: seededValues(size, seed + 1), g, b, res }
}

/**
 * [act(BN(x) (+ r)), mean, variance, dx, dgamma, dbeta (, dr)] for loss = sum(act(BN(x) (+ r)) * dy); fused: the native
 * kernel; r: the case's residual, when it has one
 */
function bnActOutputs(k: ReturnType<typeof bnCase>, activation: BnActivation, fused: boolean): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor(k.x, k.shape)
    const dy = tf.tensor(k.dy, k.shape)
    const r = k.res ? tf.tensor(k.res, k.shape) : null
    const [g, b] = [k.g, k.b].map((v) => tf.tensor1d(v)) as tf.Tensor1D[]
    const axes = k.shape.slice(0, -1).map((_, i) => i)
    const forward = (xi: tf.Tensor, gi: tf.Tensor1D, bi: tf.Tensor1D, ri?: tf.Tensor): tf.Tensor[] => {
      if (fused) {
        const o = batchNormTrainAct(xi, gi, bi, EPS, activation, ri)
        return [o.y, o.mean, o.variance]
      }
      const { mean, variance } = tf.moments(xi, axes)
      let y = tf.batchNorm(xi, mean, variance, bi, gi, EPS)
      if (ri) y = tf.add(y, ri)
      return [activation === 'relu' ? tf.relu(y) : activation === 'relu6' ? tf.relu6(y) : y, mean, variance]
    }
    const outs = forward(x, g, b, r ?? undefined)
    const loss = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor, ri?: tf.Tensor) => tf.sum(tf.mul(forward(xi, gi as tf.Tensor1D, bi as tf.Tensor1D, ri)[0], dy))
    const grads = r ? tf.grads((xi, gi, bi, ri) => loss(xi, gi, bi, ri))([x, g, b, r]) : tf.grads((xi, gi, bi) => loss(xi, gi, bi))([x, g, b])
    return [...outs, ...grads]
  }
}

describe('native training BatchNorm + activation (one kernel each way) matches BN then the activation on cpu (max rel. error < 1e-5)', () => {
  const labels = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta']
  for (const activation of ['relu', 'relu6', 'linear'] as const) {
    it(`${activation}: output, batch statistics and the gradients of x, gamma and beta, on every instruction set`, async () => {
      for (const [i, shape] of BN_SHAPES.entries()) {
        for (const offset of [0, 3]) {
          const k = bnCase(shape, 10 * i + 7, offset, activation)
          await againstCpu(`[${shape}] offset ${offset}`, bnActOutputs(k, activation, false), bnActOutputs(k, activation, true), labels, [{ threads: 1 }, { threads: 2 }])
        }
      }
    })
  }

  for (const activation of ['relu', 'relu6', 'linear'] as const) {
    it(`${activation} with a residual added before it (DaftBatchNormTrainAddAct): output, statistics and the gradients of x, gamma, beta and the residual, on every instruction set`, async () => {
      for (const [i, shape] of BN_SHAPES.entries()) {
        const k = bnCase(shape, 10 * i + 3, i % 2 ? 3 : 0, activation, true)
        await againstCpu(`[${shape}] + residual`, bnActOutputs(k, activation, false), bnActOutputs(k, activation, true), [...labels, 'dresidual'], [{ threads: 1 }, { threads: 2 }])
      }
    })
  }

  it('ReLU6 cases do reach both clamps (the test data is not all linear)', async () => {
    const k = bnCase([16, 8, 8, 40], 77, 0, 'relu6')
    const [y] = await runOn('wasm', () => batchNormTrainAct(tf.tensor(k.x, k.shape), tf.tensor1d(k.g), tf.tensor1d(k.b), EPS, 'relu6').y)
    const six = y.filter((v) => v === 6).length
    const zero = y.filter((v) => v === 0).length
    expect(six).toBeGreaterThan(y.length / 50)
    expect(zero).toBeGreaterThan(y.length / 50)
  })

  it('gives bit-identical results from run to run and leaks no tensors', async () => {
    const k = bnCase([32, 8, 8, 32], 99, 2, 'relu')
    const backend = tf.findBackend('wasm')!
    const before = backend.numDataIds()
    const a = await runOn('wasm', bnActOutputs(k, 'relu', true))
    const b = await runOn('wasm', bnActOutputs(k, 'relu', true))
    a.forEach((t, j) => expect(Buffer.from(t.buffer).equals(Buffer.from(b[j].buffer))).toBe(true))
    expect(backend.numDataIds()).toBe(before)
  })

  it('BatchNorm2d.forward(x, "train", activation) runs the fused kernel on wasm and equals BN then the activation on cpu, running statistics included', async () => {
    const shape = [4, 6, 6, 12]
    for (const activation of ['relu', 'relu6'] as const) {
      const k = bnCase(shape, 5, 1, activation)
      const run = () => {
        const bn = new BatchNorm2d(12)
        bn.setState({ weight: k.g, bias: k.b })
        const x = tf.tensor(k.x, shape)
        const dy = tf.tensor(k.dy, shape)
        const res = tf.tensor(seededValues(k.x.length, 8), shape)
        const y = bn.forward(x, 'train', activation)
        const [rm, rv] = [bn.runningMean.clone(), bn.runningVar.clone()]
        const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn.forward(xi, 'train', activation), dy)))(x)
        const yr = bn.forward(x, 'train', activation, res)
        const [dxr, dres] = tf.grads((xi: tf.Tensor, ri: tf.Tensor) => tf.sum(tf.mul(bn.forward(xi, 'train', activation, ri), dy)))([x, res])
        bn.dispose()
        return [y, rm, rv, dx, yr, dxr, dres]
      }
      await againstCpu(`BatchNorm2d ${activation}`, run, run, ['y', 'running_mean', 'running_var', 'dx', 'y (residual)', 'dx (residual)', 'dresidual'])
      const kernels = await runOn('wasm', () => {
        expect(hasBatchNormTrainAct()).toBe(true)
        return tf.scalar(0)
      })
      expect(kernels).toHaveLength(1)
      const names: string[] = []
      await tf.setBackend('wasm')
      const bn = new BatchNorm2d(12)
      const prof = await tf.profile(() => tf.tidy(() => {
        const x = tf.tensor(k.x, shape)
        tf.grad((xi: tf.Tensor) => tf.sum(bn.forward(xi, 'train', activation)))(x)
        tf.grad((xi: tf.Tensor) => tf.sum(bn.forward(xi, 'train', activation, xi)))(x)
      }))
      bn.dispose()
      names.push(...prof.kernels.map((p) => p.name))
      expect(names).toEqual(expect.arrayContaining(['DaftBatchNormTrainAct', 'DaftBatchNormTrainActGrad', 'DaftBatchNormTrainAddAct', 'DaftBatchNormTrainAddActGrad']))
      expect(names.filter((n) => /^Relu|ReluGrad|Relu6Grad|^BatchNormTrain/.test(n))).toEqual([])
    }
  })

  it('rejects bad shapes, dtypes and activations with clear errors', async () => {
    await runOn('wasm', () => {
      const x = tf.ones([2, 3, 4])
      expect(() => batchNormTrainAct(x, tf.ones([3]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, EPS, 'relu')).toThrow(/scale must have shape \[4\]/)
      expect(() => batchNormTrainAct(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, EPS, 'tanh' as BnActivation)).toThrow(/activation must be linear, relu or relu6/)
      expect(() => batchNormTrainAct(tf.ones([2, 4], 'int32'), tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, EPS, 'relu')).toThrow(/x must be float32/)
      return tf.scalar(0)
    })
  })
})

// ------------------------------------------------------------------------------------------------ MaxPoolGrad

interface PoolCase {
  shape: [number, number, number, number]
  f: [number, number]
  s: [number, number]
  pad: 'same' | 'valid' | number
}

// 3x3 / 2 with padding 1 (torchvision's stem pool), 2x2 / 2, overlapping and non-overlapping windows, odd sizes,
// channel counts below / beyond the vector widths
const POOLS: PoolCase[] = [
  { shape: [2, 9, 9, 16], f: [3, 3], s: [2, 2], pad: 1 },
  { shape: [3, 8, 8, 64], f: [3, 3], s: [2, 2], pad: 1 },
  { shape: [2, 7, 10, 5], f: [2, 2], s: [2, 2], pad: 'valid' },
  { shape: [1, 11, 9, 33], f: [3, 3], s: [1, 1], pad: 'same' },
  { shape: [2, 6, 6, 1], f: [3, 2], s: [2, 1], pad: 'valid' },
  { shape: [4, 13, 13, 20], f: [3, 3], s: [2, 2], pad: 'same' },
  { shape: [2, 5, 5, 8], f: [5, 5], s: [3, 3], pad: 2 },
  { shape: [8, 16, 16, 24], f: [3, 3], s: [2, 2], pad: 1 },
]

describe('native MaxPoolGrad matches the cpu backend (max rel. error < 1e-5), ties included', () => {
  for (const c of POOLS) {
    for (const ties of [false, true]) {
      it(`[${c.shape}] f${c.f} s${c.s} pad ${c.pad}${ties ? ' (post-ReLU input: ties at 0)' : ''}`, async () => {
        const size = tf.util.sizeFromShape(c.shape)
        // post-ReLU data has many equal zeros in a window: the first maximum must win, as on cpu
        const xv = seededValues(size, 61 + size).map((v) => (ties ? Math.max(0, v - 0.3) : v))
        const run = () => {
          const x = tf.tensor(xv, c.shape) as tf.Tensor4D
          const y = tf.maxPool(x, c.f, c.s, c.pad as never)
          const dy = tf.tensor(seededValues(y.size, 62), y.shape)
          return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xi as tf.Tensor4D, c.f, c.s, c.pad as never), dy)))(x)
        }
        await againstCpu(`maxPoolGrad [${c.shape}]`, run, run, ['dx'], [{ threads: 1 }, { threads: 2 }])
      })
    }
  }
})

// ------------------------------------------------------------------------------------------------ StridedSlice gradient

// the option-A shortcut's x[:, ::2, ::2, :] (even and odd sizes), other begins and strides, rank 2 and
// rank 5, a stride on the last axis, and a shape large enough to split over the threads
const SLICES: { shape: number[]; begin: number[]; end: number[]; strides: number[] }[] = [
  { shape: [4, 8, 8, 16], begin: [0, 0, 0, 0], end: [4, 8, 8, 16], strides: [1, 2, 2, 1] },
  { shape: [3, 7, 5, 3], begin: [0, 0, 0, 0], end: [3, 7, 5, 3], strides: [1, 2, 2, 1] },
  { shape: [2, 9, 9, 5], begin: [1, 1, 2, 1], end: [2, 8, 9, 4], strides: [1, 3, 2, 2] },
  { shape: [3, 6, 4, 2], begin: [1, 1, 0, 0], end: [3, 6, 4, 2], strides: [1, 2, 1, 1] },
  { shape: [11, 13], begin: [1, 0], end: [11, 13], strides: [2, 3] },
  { shape: [2, 3, 4, 5, 6], begin: [0, 1, 0, 1, 0], end: [2, 3, 4, 5, 6], strides: [1, 1, 2, 2, 3] },
  { shape: [64, 32, 32, 16], begin: [0, 0, 0, 0], end: [64, 32, 32, 16], strides: [1, 2, 2, 1] },
]

describe('native StridedSlice gradient (one scatter, DaftStridedSliceGrad) matches the tf-ops gradient on cpu', () => {
  for (const c of SLICES) {
    it(`[${c.shape}] begin ${c.begin} strides ${c.strides}`, async () => {
      const xv = seededValues(tf.util.sizeFromShape(c.shape), 71)
      const run = () => {
        const x = tf.tensor(xv, c.shape)
        const slice = (xi: tf.Tensor): tf.Tensor => tf.stridedSlice(xi, c.begin, c.end, c.strides)
        const dy = tf.tensor(seededValues(slice(x).size, 72), slice(x).shape)
        return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(slice(xi), dy)))(x)
      }
      await againstCpu(`stridedSliceGrad [${c.shape}]`, run, run, ['dx'], [{ threads: 1 }, { threads: 2 }])
    })
  }
})

// ------------------------------------------------------------------------------------------------ filter gradient

// the shared small cases, and ones with K beyond the 12-row blocks (deep, narrow-image layers: the column path's
// regime), channel counts not multiples of the vector widths, 1x1 and strided convolutions
const FILTER_CASES: Case[] = [
  ...smallCases,
  { batch: 4, h: 2, w: 2, cin: 160, cout: 96, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 3, h: 4, w: 4, cin: 150, cout: 70, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 2, h: 7, w: 7, cin: 37, cout: 45, f: 3, strides: [2, 2], pad: 'same' },
  { batch: 2, h: 3, w: 3, cin: 1500, cout: 33, f: 1, strides: [1, 1], pad: 'valid' },
  { batch: 5, h: 5, w: 5, cin: 24, cout: 17, f: 3, strides: [2, 2], pad: 'valid' },
  { batch: 2, h: 9, w: 9, cin: 13, cout: 130, f: 1, strides: [2, 2], pad: 'valid' },
  { batch: 2, h: 6, w: 6, cin: 100, cout: 40, f: 3, strides: [1, 1], pad: 1 },
]

describe('native Conv2DBackpropFilter by rows and by columns of dW matches the cpu backend (max rel. error < 1e-5)', () => {
  it.each(FILTER_CASES.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 11)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 13)
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, filterShape }
    const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, attrs as never) as tf.Tensor
    await againstCpu('filter gradient', run, run, ['dw'], [
      { filterCols: 'rows' },
      { filterCols: 'columns', threads: 1 },
      { filterCols: 'columns', threads: 2 },
    ])
  })

  it('by columns is bit-identical from run to run and for 1 or 2 threads (no partial sums)', async () => {
    const c: Case = { batch: 4, h: 4, w: 4, cin: 160, cout: 64, f: 3, strides: [1, 1], pad: 'same' }
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 3)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 4)
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, filterShape }
    const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, attrs as never) as tf.Tensor
    const outs: Float32Array[] = []
    try {
      for (const threads of [1, 2, 2]) {
        configureNative({ threads, filterCols: 'columns' })
        outs.push((await runOn('wasm', run))[0])
      }
    } finally {
      configureNative({ threads: 2, filterCols: 'auto' })
    }
    expect(Buffer.from(outs[0].buffer).equals(Buffer.from(outs[1].buffer))).toBe(true)
    expect(Buffer.from(outs[1].buffer).equals(Buffer.from(outs[2].buffer))).toBe(true)
  })
})

// ------------------------------------------------------------------------------------------------ Winograd F(2x2, 3x3)

// 3x3 stride-1 convolutions: odd output sizes (partial 2x2 tiles), same / valid / explicit and asymmetric padding,
// channel counts below, at and beyond the vector widths (4, 8, 16) and not multiples of them, one-tile images
const WINO_CASES: Case[] = [
  { batch: 2, h: 7, w: 9, cin: 5, cout: 3, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 3, h: 8, w: 8, cin: 16, cout: 16, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 2, h: 9, w: 6, cin: 33, cout: 20, f: 3, strides: [1, 1], pad: 'valid' },
  { batch: 1, h: 5, w: 11, cin: 12, cout: 40, f: 3, strides: [1, 1], pad: 1 },
  { batch: 2, h: 6, w: 7, cin: 8, cout: 9, f: 3, strides: [1, 1], pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
  { batch: 4, h: 2, w: 2, cin: 64, cout: 48, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 3, h: 4, w: 4, cin: 32, cout: 32, f: 3, strides: [1, 1], pad: 'same' },
  { batch: 2, h: 3, w: 3, cin: 7, cout: 17, f: 3, strides: [1, 1], pad: 'valid' },
  { batch: 5, h: 16, w: 16, cin: 32, cout: 64, f: 3, strides: [1, 1], pad: 'same' },
]

describe('native Winograd F(2x2, 3x3) convolutions match the cpu backend (max rel. error < 1e-5), on every instruction set', () => {
  const configs: Array<Parameters<typeof configureNative>[0]> = [
    { winograd: 'force', threads: 1 },
    { winograd: 'force', threads: 2 },
    { winograd: 'off' },
  ]
  it('the Winograd filter gradient is bit-identical from run to run (fixed shares of the tiles per thread)', async () => {
    const c: Case = { batch: 6, h: 10, w: 10, cin: 32, cout: 40, f: 3, strides: [1, 1], pad: 'same' }
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 5)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 6)
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, filterShape }
    const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, attrs as never) as tf.Tensor
    try {
      configureNative({ winograd: 'force', threads: 2 })
      const [a] = await runOn('wasm', run)
      const [b] = await runOn('wasm', run)
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true)
    } finally {
      configureNative({ winograd: 'auto', threads: 2 })
    }
  })
  it.each(WINO_CASES.map((c) => [label(c), c] as const))('%s: Conv2D, FusedConv2D (bias, relu), DaftConvBatchNorm, Conv2DBackpropInput, Conv2DBackpropFilter', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 21)
    const w = seededValues(tf.util.sizeFromShape(filterShape), 22)
    const dy = seededValues(tf.util.sizeFromShape(dyShape), 23)
    const v = (seed: number, f: (u: number) => number) => seededValues(c.cout, seed).map(f)
    const [bias, gamma, beta, mean, variance] = [v(24, (u) => u), v(25, (u) => 1 + 0.5 * u), v(26, (u) => 0.3 * u), v(27, (u) => 0.2 * u), v(28, (u) => 1 + 0.5 * u)]
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined }
    const X = () => tf.tensor(x, xShape)
    const W = () => tf.tensor(w, filterShape)
    const conv = () => tf.engine().runKernel('Conv2D', { x: X(), filter: W() }, attrs as never) as tf.Tensor
    const fused = () => tf.engine().runKernel('FusedConv2D', { x: X(), filter: W(), bias: tf.tensor1d(bias) }, { ...attrs, activation: 'relu', leakyreluAlpha: 0 } as never) as tf.Tensor
    const input = () => tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dy, dyShape), filter: W() }, { ...attrs, inputShape: xShape } as never) as tf.Tensor
    const filter = () => tf.engine().runKernel('Conv2DBackpropFilter', { x: X(), dy: tf.tensor(dy, dyShape) }, { ...attrs, filterShape } as never) as tf.Tensor
    const stats = () => [gamma, beta, mean, variance].map((a) => tf.tensor1d(a)) as tf.Tensor1D[]
    const R = () => tf.tensor(seededValues(tf.util.sizeFromShape(dyShape), 29), dyShape)
    const bnRef = (res: boolean) => {
      const [g, b, m, va] = stats()
      const y = tf.batchNorm(conv(), m, va, b, g, 1e-5)
      return tf.relu(res ? tf.add(y, R()) : y)
    }
    const bnNative = (res: boolean) => {
      const [g, b, m, va] = stats()
      const inputs: tf.NamedTensorMap = { x: X(), filter: W(), gamma: g, beta: b, mean: m, variance: va }
      if (res) inputs.residual = R()
      return tf.engine().runKernel('DaftConvBatchNorm', inputs, { ...attrs, epsilon: 1e-5, activation: 'relu' } as never) as tf.Tensor
    }
    await againstCpu(
      'Winograd',
      () => [conv(), fused(), input(), bnRef(false), bnRef(true), filter()],
      () => [conv(), fused(), input(), bnNative(false), bnNative(true), filter()],
      ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'DaftConvBatchNorm', 'DaftConvBatchNorm (residual)', 'Conv2DBackpropFilter'],
      configs,
    )
  })
})

describe('native DaftConvBatchNorm with a residual (ResNet block tails in inference) matches the cpu backend', () => {
  it.each(smallCases.concat(FILTER_CASES.slice(-4)).map((c) => [label(c), c] as const))('%s (direct, im2col, Winograd where it applies)', async (_, c) => {
    const { xShape, filterShape, dyShape } = shapes(c)
    const x = seededValues(tf.util.sizeFromShape(xShape), 31)
    const w = seededValues(tf.util.sizeFromShape(filterShape), 32)
    const r = seededValues(tf.util.sizeFromShape(dyShape), 33)
    const v = (seed: number, f: (u: number) => number) => seededValues(c.cout, seed).map(f)
    const [gamma, beta, mean, variance] = [v(34, (u) => 1 + 0.5 * u), v(35, (u) => 0.3 * u), v(36, (u) => 0.2 * u), v(37, (u) => 1 + 0.5 * u)]
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined }
    const stats = () => [gamma, beta, mean, variance].map((a) => tf.tensor1d(a)) as tf.Tensor1D[]
    const ref = () => {
      const [g, b, m, va] = stats()
      const y = tf.add(tf.batchNorm(tf.conv2d(tf.tensor(x, xShape) as tf.Tensor4D, tf.tensor(w, filterShape) as tf.Tensor4D, c.strides, c.pad as never), m, va, b, g, 1e-5), tf.tensor(r, dyShape))
      return [y, tf.relu(y)]
    }
    const native = () => {
      const [g, b, m, va] = stats()
      const inputs = { x: tf.tensor(x, xShape), filter: tf.tensor(w, filterShape), gamma: g, beta: b, mean: m, variance: va, residual: tf.tensor(r, dyShape) }
      return (['linear', 'relu'] as const).map((activation) => tf.engine().runKernel('DaftConvBatchNorm', inputs, { ...attrs, epsilon: 1e-5, activation } as never) as tf.Tensor)
    }
    await againstCpu('conv + BN + residual', ref, native, ['linear', 'relu'], [{ direct: true }, { direct: false }, { winograd: 'force' }])
  })

  it('rejects a residual of the wrong shape', async () => {
    await runOn('wasm', () => {
      const one = tf.ones([2]) as tf.Tensor1D
      const inputs = { x: tf.ones([1, 4, 4, 2]), filter: tf.ones([3, 3, 2, 2]), gamma: one, beta: one, mean: one, variance: one, residual: tf.ones([1, 4, 4, 3]) }
      expect(() => tf.engine().runKernel('DaftConvBatchNorm', inputs, { strides: 1, pad: 'same', epsilon: 1e-5, activation: 'relu' } as never)).toThrow(/residual must be float32 \[1,4,4,2\]/)
      return tf.scalar(0)
    })
  })
})
