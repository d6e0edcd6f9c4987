import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential, type ModeArg } from '../../../../src/main/engine/nn'
import type { HostTensor, StateDict } from '../../../../src/main/engine/io/types'
import { useBackend } from './tfBackend'

const rand = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0
    a[i] = s / 2 ** 32 - 0.5
  }
  return a
}
const host = (shape: number[], data: Float32Array): HostTensor => ({ shape, dtype: 'float32', data })
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/** naive NCHW-free reference conv: x NHWC, w OIHW (PyTorch), symmetric padding p, stride s */
function refConv(x: Float32Array, [n, h, w, c]: number[], wt: Float32Array, [o, , kh, kw]: number[], s: number, p: number, groups = 1): { y: Float32Array; shape: number[] } {
  const oh = Math.floor((h + 2 * p - kh) / s) + 1
  const ow = Math.floor((w + 2 * p - kw) / s) + 1
  const y = new Float32Array(n * oh * ow * o)
  const cPerG = c / groups
  const oPerG = o / groups
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let oc = 0; oc < o; oc++) {
          const g = Math.floor(oc / oPerG)
          let acc = 0
          for (let ic = 0; ic < cPerG; ic++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const yy = i * s - p + u
                const xx = j * s - p + v
                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue
                acc += x[((b * h + yy) * w + xx) * c + g * cPerG + ic] * wt[((oc * cPerG + ic) * kh + u) * kw + v]
              }
          y[((b * oh + i) * ow + j) * o + oc] = acc
        }
  return { y, shape: [n, oh, ow, o] }
}

describe('nn layers (wasm forward)', () => {
  beforeAll(async () => useBackend('wasm'))

  it('Conv2d loads OIHW, matches a reference convolution, and exports OIHW again', () => {
    const conv = new Conv2d(3, 5, 3, { stride: 2, padding: 1, bias: true })
    const w = rand(5 * 3 * 3 * 3, 1)
    const b = rand(5, 2)
    const sd: StateDict = new Map([['weight', host([5, 3, 3, 3], w)], ['bias', host([5], b)]])
    expect(conv.loadStateDict(sd)).toEqual({ missing: [], unexpected: [] })
    expect(conv.weight.shape).toEqual([3, 3, 3, 5])
    const xd = rand(2 * 7 * 7 * 3, 3)
    const x = tf.tensor4d(xd, [2, 7, 7, 3])
    const y = conv.forward(x)
    const ref = refConv(xd, [2, 7, 7, 3], w, [5, 3, 3, 3], 2, 1)
    for (let i = 0; i < ref.y.length; i++) ref.y[i] += b[i % 5]
    expect(y.shape).toEqual(ref.shape)
    expect(maxAbsDiff(y.dataSync(), ref.y)).toBeLessThan(1e-5)
    const out = conv.stateDict()
    expect(out.get('weight')!.shape).toEqual([5, 3, 3, 3])
    expect(maxAbsDiff(out.get('weight')!.data, w)).toBe(0)
    tf.dispose([x, y])
    conv.dispose()
  })

  it('depthwise Conv2d (groups = in) loads [in*mult, 1, kh, kw] and matches the reference', () => {
    const conv = new Conv2d(4, 8, 3, { padding: 1, groups: 4, bias: false })
    expect(conv.weight.shape).toEqual([3, 3, 4, 2])
    const w = rand(8 * 9, 5)
    conv.loadStateDict(new Map([['weight', host([8, 1, 3, 3], w)]]))
    const xd = rand(1 * 5 * 5 * 4, 6)
    const x = tf.tensor4d(xd, [1, 5, 5, 4])
    const y = conv.forward(x)
    const ref = refConv(xd, [1, 5, 5, 4], w, [8, 1, 3, 3], 1, 1, 4)
    expect(maxAbsDiff(y.dataSync(), ref.y)).toBeLessThan(1e-5)
    expect(maxAbsDiff(conv.stateDict().get('weight')!.data, w)).toBe(0)
    tf.dispose([x, y])
    conv.dispose()
  })

  it('Linear keeps the PyTorch [out, in] layout', () => {
    const lin = new Linear(3, 2)
    const w = Float32Array.from([1, 2, 3, -1, 0, 1])
    lin.loadStateDict(new Map([['weight', host([2, 3], w)], ['bias', host([2], Float32Array.from([0.5, -0.5]))]]))
    const y = lin.forward(tf.tensor2d([[1, 1, 1], [2, 0, -1]]))
    expect(Array.from(y.dataSync())).toEqual([6.5, -0.5, -0.5, -3.5])
    y.dispose()
    lin.dispose()
  })

  it('MaxPool2d padding never wins (PyTorch -inf padding)', () => {
    const x = tf.fill([1, 4, 4, 1], -3) as tf.Tensor4D
    const y = new MaxPool2d(3, 2, 1).forward(x)
    expect(y.shape).toEqual([1, 2, 2, 1])
    expect(Array.from(y.dataSync())).toEqual([-3, -3, -3, -3])
    tf.dispose([x, y])
  })

  it('loadStateDict: strict rejects missing/unexpected keys before changing anything, non-strict reports them, shapes are checked', () => {
    const net = new Sequential(new Conv2d(2, 3, 1), new BatchNorm2d(3), new ReLU())
    expect(net.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias'])
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['1.running_mean', '1.running_var'])
    const sd = net.stateDict()
    expect([...sd.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var'])
    const before = net.stateDict().get('1.running_var')!.data
    const bad: StateDict = new Map(sd)
    bad.delete('0.bias')
    bad.set('extra.weight', host([1], new Float32Array(1)))
    bad.set('1.running_var', host([3], Float32Array.from([7, 7, 7])))
    expect(() => net.loadStateDict(bad, { source: 'x.pt' })).toThrow(/x\.pt: .*missing keys: 0\.bias.*unexpected keys: extra\.weight/)
    expect(Array.from(net.stateDict().get('1.running_var')!.data)).toEqual(Array.from(before))
    const r = net.loadStateDict(bad, { strict: false })
    expect(r).toEqual({ missing: ['0.bias'], unexpected: ['extra.weight'] })
    expect(Array.from(net.stateDict().get('1.running_var')!.data)).toEqual([7, 7, 7])
    const withCounter: StateDict = new Map(sd)
    withCounter.set('1.num_batches_tracked', { shape: [], dtype: 'int64', data: Int32Array.from([5]) })
    expect(net.loadStateDict(withCounter)).toEqual({ missing: [], unexpected: [] })
    const wrong: StateDict = new Map(sd)
    wrong.set('0.weight', host([3, 2, 3, 3], new Float32Array(54)))
    expect(() => net.loadStateDict(wrong, { source: 'y.safetensors' })).toThrow(/y\.safetensors: 0\.weight: shape \[3,2,3,3\].*\[3,2,1,1\]/)
    net.dispose()
  })
})

describe('BatchNorm2d (PyTorch semantics)', () => {
  beforeAll(async () => useBackend('cpu'))

  const data = rand(2 * 3 * 3 * 2, 11) // N=2, H=W=3, C=2
  const stats = (c: number): { mean: number; biased: number; unbiased: number } => {
    const v: number[] = []
    for (let i = c; i < data.length; i += 2) v.push(data[i])
    const mean = v.reduce((a, b) => a + b, 0) / v.length
    const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0)
    return { mean, biased: ss / v.length, unbiased: ss / (v.length - 1) }
  }

  it('train mode normalises with batch stats and updates running stats with momentum and the unbiased variance', () => {
    const bn = new BatchNorm2d(2)
    bn.setState({ weight: [2, 0.5], bias: [1, -1], runningMean: [0.3, -0.2], runningVar: [2, 0.5] })
    const x = tf.tensor4d(data, [2, 3, 3, 2])
    const y = bn.forward(x, 'train')
    const yd = y.dataSync()
    const s = [stats(0), stats(1)]
    for (let i = 0; i < data.length; i++) {
      const c = i % 2
      const want = ((data[i] - s[c].mean) / Math.sqrt(s[c].biased + 1e-5)) * [2, 0.5][c] + [1, -1][c]
      expect(Math.abs(yd[i] - want)).toBeLessThan(1e-5)
    }
    const rm = bn.runningMean.dataSync()
    const rv = bn.runningVar.dataSync()
    expect(rm[0]).toBeCloseTo(0.9 * 0.3 + 0.1 * s[0].mean, 6)
    expect(rm[1]).toBeCloseTo(0.9 * -0.2 + 0.1 * s[1].mean, 6)
    expect(rv[0]).toBeCloseTo(0.9 * 2 + 0.1 * s[0].unbiased, 6)
    expect(rv[1]).toBeCloseTo(0.9 * 0.5 + 0.1 * s[1].unbiased, 6)
    tf.dispose([x, y])
    bn.dispose()
  })

  it("eval and 'frozen' use running stats and never update them; gamma/beta still get gradients when frozen", () => {
    const bn = new BatchNorm2d(2, { eps: 1e-3, momentum: 0.5 })
    bn.setState({ weight: [1.5, 1], bias: [0, 2], runningMean: [0.1, 0.2], runningVar: [0.4, 0.9] })
    const x = tf.tensor4d(data, [2, 3, 3, 2])
    for (const mode of ['eval', 'frozen'] as const) {
      const y = bn.forward(x, mode)
      const yd = y.dataSync()
      for (let i = 0; i < data.length; i++) {
        const c = i % 2
        const want = ((data[i] - [0.1, 0.2][c]) / Math.sqrt([0.4, 0.9][c] + 1e-3)) * [1.5, 1][c] + [0, 2][c]
        expect(Math.abs(yd[i] - want)).toBeLessThan(1e-5)
      }
      y.dispose()
    }
    const { value, grads } = tf.variableGrads(() => bn.forward(x, 'frozen').sum() as tf.Scalar, [bn.weight, bn.bias])
    expect(Array.from(grads[bn.bias.name].dataSync())).toEqual([18, 18])
    expect(Math.abs(grads[bn.weight.name].dataSync()[0])).toBeGreaterThan(0)
    expect(Array.from(bn.runningMean.dataSync()).map((v) => +v.toFixed(6))).toEqual([0.1, 0.2])
    expect(Array.from(bn.runningVar.dataSync()).map((v) => +v.toFixed(6))).toEqual([0.4, 0.9])
    tf.dispose([value, x, ...Object.values(grads)])
    bn.dispose()
  })

  it('pending updates: train forward inside variableGrads changes nothing until applyBatchNormUpdates', async () => {
    const { applyBatchNormUpdates } = await import('../../../../src/main/engine/nn')
    const bn = new BatchNorm2d(2)
    const x = tf.tensor4d(data, [2, 3, 3, 2])
    const pending: Parameters<typeof applyBatchNormUpdates>[0] = []
    const { value, grads } = tf.variableGrads(() => bn.forward(x, { bn: 'train', statUpdates: pending }).square().sum() as tf.Scalar, [bn.weight, bn.bias])
    expect(pending.length).toBe(1)
    expect(Array.from(bn.runningMean.dataSync())).toEqual([0, 0])
    // train-mode BN output has zero mean per channel, so d(sum y^2)/d beta = 2 * sum(y) = 4 * beta * count = 0 at beta 0
    expect(Math.abs(grads[bn.bias.name].dataSync()[0])).toBeLessThan(1e-4)
    expect(grads[bn.weight.name].dataSync()[0]).toBeGreaterThan(0)
    applyBatchNormUpdates(pending)
    expect(pending.length).toBe(0)
    expect(bn.runningMean.dataSync()[1]).toBeCloseTo(0.1 * stats(1).mean, 6)
    expect(bn.runningVar.dataSync()[0]).toBeCloseTo(0.9 + 0.1 * stats(0).unbiased, 6)
    tf.dispose([value, x, ...Object.values(grads)])
    bn.dispose()
  })
})

/** a tiny conv net for the leak test */
class Tiny extends Module {
  readonly body = this.registerModule('body', new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU()))
  readonly fc = this.registerModule('fc', new Linear(4, 3))
  forward(x: tf.Tensor, mode: ModeArg): tf.Tensor2D {
    return tf.tidy(() => this.fc.forward(this.body.forward(x, mode).mean([1, 2])))
  }
}

describe('no tensor leaks', () => {
  beforeAll(async () => useBackend('cpu'))

  it('tf.memory().numTensors is stable across repeated train steps (pending and immediate BN updates, eval calls)', async () => {
    const { applyBatchNormUpdates } = await import('../../../../src/main/engine/nn')
    const net = new Tiny()
    const x = tf.randomNormal([4, 6, 6, 3], 0, 1, 'float32', 3)
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3)
    const params = net.parameters()
    const step = (pendingMode: boolean): number => {
      const pending: Parameters<typeof applyBatchNormUpdates>[0] = []
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, net.forward(x, pendingMode ? { bn: 'train', statUpdates: pending } : 'train')) as tf.Scalar,
        params,
      )
      tf.tidy(() => {
        for (const p of params) p.assign(p.sub(grads[p.name].mul(0.1)))
      })
      applyBatchNormUpdates(pending)
      const loss = value.dataSync()[0]
      tf.dispose([value, ...Object.values(grads)])
      const e = net.forward(x, 'eval')
      e.dispose()
      return loss
    }
    step(true)
    step(false)
    const base = tf.memory().numTensors
    const losses: number[] = []
    for (let i = 0; i < 6; i++) losses.push(step(i % 2 === 0))
    expect(tf.memory().numTensors).toBe(base)
    expect(losses[5]).toBeLessThan(losses[0])
    net.dispose()
    tf.dispose([x, labels])
  })
})
