// The fused native SGD step (kernels/native.ts nativeSgdStep, used by train/sgd.ts on wasm with the addon) against the
// same optimiser on the cpu backend (tfjs ops), on every instruction set: momentum with and without weight decay, two
// groups, a resumed state, sizes that split over the threads; a parameter whose data another tensor shares leaves the
// sharer unchanged; a parameter gets a new tensor, so a kernel that caches what it derives from a tensor (tfjs-wasm's
// MatMul packs its weights once per tensor) sees the update. BatchNorm's running-statistics update (nativeBlendStats,
// used by applyBatchNormUpdates) likewise.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { configureNative, loadNative, nativeInfo, nativeLoadError } from '../../../../src/main/engine/kernels'
import { heapOf, wasmBackend } from '../../../../src/main/engine/kernels/wasmInternals'
import { hasNativeSgd, nativeBlendStats, nativeSgdAccepts } from '../../../../src/main/engine/kernels/native'
import { applyBatchNormUpdates, BatchNorm2d, type BatchNormUpdate } from '../../../../src/main/engine/nn'
import { SGD, type SGDState } from '../../../../src/main/engine/train/sgd'
import { relativeError, seededValues } from './compare'

let isas: string[] = []

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  expect(loadNative(), nativeLoadError()).not.toBeNull()
  isas = nativeInfo()!.isas
  tf.env().set('IS_TEST', true)
})

// 1 and 7 elements, vector edges, and 40000 / 70001 (several 16384-element chunks, one not a multiple)
const SHAPES: number[][] = [[1], [7], [16], [3, 3, 3, 33], [20, 2000], [70001]]

interface Run {
  params: Float32Array[]
  buffers: Float32Array[]
}

/** `steps` SGD steps on `backendName` from seeded parameters and gradients; optionally resumed from `resume`. */
async function train(backendName: string, momentum: number, weightDecay: number, steps: number, resume?: SGDState): Promise<Run & { state: SGDState }> {
  const previous = tf.getBackend()
  await tf.setBackend(backendName)
  try {
    const vars = SHAPES.map((s, i) => {
      const init = tf.tensor(seededValues(tf.util.sizeFromShape(s), 10 + i), s)
      const v = tf.variable(init, true, `sgd_${backendName}_${i}_${Math.random()}`)
      init.dispose()
      return v
    })
    const opt = new SGD(
      [
        { name: 'backbone', params: vars.slice(0, 4).map((v, i): [string, tf.Variable] => [`p${i}`, v]), lr: 0.05 },
        { name: 'head', params: vars.slice(4).map((v, i): [string, tf.Variable] => [`p${i + 4}`, v]), lr: 0.3, weightDecay: 0 },
      ],
      { momentum, weightDecay },
    )
    if (resume) opt.loadStateDict(resume)
    // on wasm every parameter takes the native path (its data is its own)
    if (backendName === 'wasm') expect(vars.every((v) => nativeSgdAccepts(v, v))).toBe(true)
    for (let step = 0; step < steps; step++) {
      opt.setLr('backbone', 0.05 / (step + 1))
      const grads: tf.NamedTensorMap = {}
      vars.forEach((v, i) => {
        grads[v.name] = tf.tensor(seededValues(v.size, 100 * step + i + 1), v.shape)
      })
      opt.step(grads)
      tf.dispose(Object.values(grads))
    }
    const state = opt.stateDict()
    const out = { params: vars.map((v) => Float32Array.from(v.dataSync())), buffers: Object.keys(state.buffers).sort().map((k) => state.buffers[k].data), state }
    opt.dispose()
    tf.dispose(vars)
    return out
  } finally {
    await tf.setBackend(previous)
  }
}

function expectSame(got: Run, want: Run, what: string): void {
  expect(got.params.length).toBe(want.params.length)
  expect(got.buffers.length).toBe(want.buffers.length)
  got.params.forEach((p, i) => expect(relativeError(p, want.params[i]), `${what} param ${i}`).toBeLessThan(1e-6))
  got.buffers.forEach((b, i) => expect(relativeError(b, want.buffers[i]), `${what} buffer ${i}`).toBeLessThan(1e-6))
}

describe('native SGD step (wasm + addon) against tfjs ops on cpu', () => {
  it('runs natively on wasm', () => {
    expect(hasNativeSgd()).toBe(true)
  })

  for (const [momentum, wd] of [[0.9, 5e-4], [0.9, 0], [0, 1e-2]] as const) {
    it(`momentum ${momentum}, weight decay ${wd}: every instruction set, 3 steps and a resumed state`, async () => {
      const ref = await train('cpu', momentum, wd, 3)
      const refResumed = await train('cpu', momentum, wd, 2, ref.state)
      try {
        for (const isa of isas) {
          configureNative({ isa })
          expectSame(await train('wasm', momentum, wd, 3), ref, `${isa} m=${momentum} wd=${wd}`)
          expectSame(await train('wasm', momentum, wd, 2, ref.state), refResumed, `${isa} resumed m=${momentum} wd=${wd}`)
        }
      } finally {
        configureNative({ isa: isas[0] })
      }
    })
  }

  it('leaves a tensor that shares a parameter\'s data as it was', () => {
    const init = tf.tensor1d([1, 2, 3])
    const v = tf.variable(init, true) // init still alive: v shares its data
    const own = tf.variable(tf.zeros([3]), true)
    const opt = new SGD([{ name: 'all', params: [['shared', v], ['own', own]], lr: 0.5 }], { momentum: 0.9 })
    const g = tf.ones([3])
    expect(nativeSgdAccepts(v, g)).toBe(true)
    opt.step({ [v.name]: g, [own.name]: g })
    opt.step({ [v.name]: g, [own.name]: g })
    expect(Array.from(init.dataSync())).toEqual([1, 2, 3])
    // step 1: buf = 1, p -= 0.5; step 2: buf = 1.9, p -= 0.95
    expect(Array.from(v.dataSync())).toEqual([1 - 0.5 - 0.95, 2 - 0.5 - 0.95, 3 - 0.5 - 0.95].map(Math.fround))
    expect(Array.from(own.dataSync())).toEqual(Array(3).fill(Math.fround(-0.5 - 0.95)))
    opt.dispose()
    tf.dispose([init, v, own, g])
  })

  it('gives each parameter a new tensor: a MatMul after the step uses the new weights', () => {
    // tfjs-wasm's MatMul packs its right operand once per tensor and reuses it while the tensor lives: a step that
    // wrote the weights in place trained a head the forward pass no longer saw (resumed runs then differed)
    const w = tf.variable(tf.ones([8, 4]), true)
    const x = tf.ones([2, 8])
    const opt = new SGD([{ name: 'head', params: [['fc.weight', w]], lr: 0.25 }], { momentum: 0.9 })
    expect(Array.from(tf.matMul(x, w).dataSync())).toEqual(Array(8).fill(8))
    const g = tf.ones([8, 4])
    expect(nativeSgdAccepts(w, g)).toBe(true)
    opt.step({ [w.name]: g })
    expect(Array.from(w.dataSync())).toEqual(Array(32).fill(0.75))
    expect(Array.from(tf.matMul(x, w).dataSync())).toEqual(Array(8).fill(6))
    opt.dispose()
    tf.dispose([w, x, g])
  })
})

/** BN running statistics after `steps` lists of two train-mode forwards each (micro-batches), applied per list. */
async function runningStats(backendName: string, steps: number): Promise<Float32Array[]> {
  const previous = tf.getBackend()
  await tf.setBackend(backendName)
  try {
    const layers = [new BatchNorm2d(16, { momentum: 0.1 }), new BatchNorm2d(33, { momentum: 0.3 })]
    for (let step = 0; step < steps; step++) {
      const pending: BatchNormUpdate[] = []
      for (const [i, bn] of layers.entries()) {
        for (const k of [0, 1]) {
          const c = bn.numFeatures
          const x = tf.tensor4d(seededValues(4 * 3 * 3 * c, 1000 * step + 10 * i + k).map((v) => 2 * v + 0.5), [4, 3, 3, c])
          tf.dispose(tf.tidy(() => bn.forward(x, { bn: 'train', statUpdates: pending }, 'relu')))
          x.dispose()
        }
      }
      applyBatchNormUpdates(pending)
    }
    const out = layers.flatMap((bn) => [Float32Array.from(bn.runningMean.dataSync()), Float32Array.from(bn.runningVar.dataSync())])
    for (const bn of layers) bn.dispose()
    return out
  } finally {
    await tf.setBackend(previous)
  }
}

describe('native BatchNorm running-statistics update against tfjs ops on cpu', () => {
  it('matches after several steps of two updates per layer (max rel. error < 1e-6)', async () => {
    const ref = await runningStats('cpu', 4)
    const got = await runningStats('wasm', 4)
    got.forEach((g, i) => expect(relativeError(g, ref[i]), `stat ${i}`).toBeLessThan(1e-6))
  })

  it('gives each target a new tensor, leaving a tensor that shared its data as it was', () => {
    const init = tf.zeros([5])
    const own = tf.variable(init, false) // init still alive: own shares its data
    const batch = tf.ones([5])
    const before = own.dataId
    expect(nativeBlendStats([{ target: own, batch, keep: 0.9, take: 0.1 }, { target: own, batch, keep: 0.5, take: 0.5 }])).toBe(true)
    expect(own.dataId).not.toBe(before)
    expect(Array.from(init.dataSync())).toEqual([0, 0, 0, 0, 0])
    // a repeated target blends its previous result: (0 * 0.9 + 0.1) * 0.5 + 0.5
    const once = Math.fround(Math.fround(0) + Math.fround(0.1))
    expect(Array.from(own.dataSync())).toEqual(Array(5).fill(Math.fround(Math.fround(once * 0.5) + 0.5)))
    const wrong = tf.ones([4])
    expect(nativeBlendStats([{ target: own, batch: wrong, keep: 0.9, take: 0.1 }])).toBe(false)
    tf.dispose([init, own, batch, wrong])
  })

  it('rejects a parameter list whose length does not match its count, naming the call', () => {
    const addon = loadNative()!.addon
    const heap = heapOf(wasmBackend(tf.backend()))
    expect(() => addon.sgdStep(heap, Float64Array.from([1, 0.9]))).toThrow(/sgdStep: parameter count does not match/)
    expect(() => addon.blendStats(heap, Float64Array.from([2, 0, 0, 1, 0.9, 0.1, 0, 1]))).toThrow(/blendStats: parameter count does not match/)
    expect(() => addon.blendStats(heap, new Float32Array(1) as never)).toThrow(/blendStats expects a Float64Array/)
  })
})
