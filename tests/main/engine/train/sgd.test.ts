import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { SGD } from '../../../../src/main/engine/train/sgd'
import { cosineLr } from '../../../../src/main/engine/train/schedule'

// Printed by `/usr/bin/python3 scripts/ref/sgd_reference.py` (torch 1.13 SGD + CosineAnnealingLR).
const REF = {
  lrs: [[0.1, 1.0], [0.08535533905932738, 0.8535533905932737], [0.05, 0.5], [0.014644660940672627, 0.14644660940672627]],
  w: [0.5764465707063713, 0.4842598137576248, 0.3955401266886355, 0.3084143216385998, 0.2183712460156085, 0.11958867956750437],
  b: [-1.3890113726857585, -0.5601312860076733, 0.3318767875796066],
  bufW: [0.36844096203515664, -0.1341549202292781, -0.6162146107585584, -1.0129721095098851, -1.2712901695643137, -1.3568274801208886],
}

const init = (n: number, phase: number): number[] => Array.from({ length: n }, (_, i) => Math.cos(phase + 0.21 * i))
const grad = (n: number, step: number, phase: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(phase + 0.37 * i + 1.1 * step))

function makeProblem(): { w: tf.Variable; b: tf.Variable; opt: SGD } {
  const w = tf.variable(tf.tensor2d(init(6, 0.5), [2, 3]), true)
  const b = tf.variable(tf.tensor1d(init(3, 1.5)), true)
  const opt = new SGD(
    [
      { name: 'backbone', params: [['fc.weight', w]], lr: 0.1 },
      { name: 'head', params: [['fc.bias', b]], lr: 1.0, weightDecay: 0 },
    ],
    { momentum: 0.9, weightDecay: 0.01 },
  )
  return { w, b, opt }
}

function doStep(p: { w: tf.Variable; b: tf.Variable; opt: SGD }, step: number): void {
  p.opt.setLr('backbone', cosineLr(0.1, step, 4))
  p.opt.setLr('head', cosineLr(1.0, step, 4))
  const gw = tf.tensor2d(grad(6, step, 1.0), [2, 3])
  const gb = tf.tensor1d(grad(3, step, 2.0))
  p.opt.step({ [p.w.name]: gw, [p.b.name]: gb })
  gw.dispose()
  gb.dispose()
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 2e-6): void {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol)
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('SGD with parameter groups (PyTorch semantics)', () => {
  it('matches torch.optim.SGD with momentum, weight decay, two groups and a cosine schedule', () => {
    const p = makeProblem()
    for (let s = 0; s < 4; s++) {
      doStep(p, s)
      expect(p.opt.group('backbone').lr).toBeCloseTo(REF.lrs[s][0], 12)
      expect(p.opt.group('head').lr).toBeCloseTo(REF.lrs[s][1], 12)
    }
    expectClose(p.w.dataSync(), REF.w)
    expectClose(p.b.dataSync(), REF.b)
    expectClose(p.opt.stateDict().buffers['fc.weight'].data, REF.bufW)
    p.opt.dispose()
    p.w.dispose()
    p.b.dispose()
  })

  it('does not leak tensors across steps', () => {
    const p = makeProblem()
    doStep(p, 0)
    const after1 = tf.memory().numTensors
    for (let s = 1; s < 4; s++) doStep(p, s)
    expect(tf.memory().numTensors).toBe(after1)
    p.opt.dispose()
    p.w.dispose()
    p.b.dispose()
  })

  it('resumes from an exported state exactly as an uninterrupted run', () => {
    const a = makeProblem()
    doStep(a, 0)
    doStep(a, 1)
    const state = a.opt.stateDict()
    expect(Object.keys(state.buffers).sort()).toEqual(['fc.bias', 'fc.weight'])
    expect(state.steps).toBe(2)
    const wMid = a.w.dataSync().slice()
    const bMid = a.b.dataSync().slice()
    doStep(a, 2)
    doStep(a, 3)

    const b = makeProblem()
    b.w.assign(tf.tensor2d(wMid, [2, 3]))
    b.b.assign(tf.tensor1d(bMid))
    b.opt.loadStateDict(structuredClone(state))
    doStep(b, 2)
    doStep(b, 3)
    expectClose(b.w.dataSync(), Array.from(a.w.dataSync()), 1e-7)
    expectClose(b.w.dataSync(), REF.w)
    expect(b.opt.steps).toBe(4)
    for (const x of [a, b]) {
      x.opt.dispose()
      x.w.dispose()
      x.b.dispose()
    }
  })

  it('rejects bad gradients, duplicate parameters and mismatched states with named messages', () => {
    const p = makeProblem()
    const bad = tf.zeros([3, 2])
    expect(() => p.opt.step({ [p.w.name]: bad })).toThrow(/fc\.weight.*\[3,2\]/)
    expect(() => new SGD([{ name: 'a', params: [['x', p.w]], lr: 0.1 }, { name: 'b', params: [['x', p.b]], lr: 0.1 }])).toThrow(/'x'.*more than one group/)
    const state = p.opt.stateDict()
    state.buffers['fc.weight'] = { shape: [3, 2], data: new Float32Array(6) }
    expect(() => p.opt.loadStateDict(state, 'ckpt.json')).toThrow(/ckpt\.json: momentum buffer 'fc\.weight'/)
    bad.dispose()
    p.opt.dispose()
    p.w.dispose()
    p.b.dispose()
  })
})
