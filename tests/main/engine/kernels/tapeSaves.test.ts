// The gradient tape's saved tensors without an Identity kernel each (kernels/tapeSaves.ts): the same gradients to the
// bit as the engine's own clone-based saves on wasm and cpu, no tensor left behind, no Identity kernel in a training
// step, second-order gradients (tf.grad of tf.grad) still right, and a clear reason when the engine lacks the pieces.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { installTapeSaves, missingEngineInternals, uninstallTapeSaves } from '../../../../src/main/engine/kernels/tapeSaves'
import { createModel } from '../../../../src/main/engine/models'
import { disposeBatchNormUpdates, type BatchNormUpdate } from '../../../../src/main/engine/nn'
import { gradientStep } from '../../../../src/main/engine/train/accumulate'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})
afterAll(() => {
  expect(installTapeSaves()).toBeNull()
})

/** One ResNet-8 gradient step on 4 images; the gradients by PyTorch name as host arrays, and the kernels it ran. */
async function gradients(): Promise<{ grads: Record<string, Float32Array>; kernels: string[] }> {
  const model = createModel('resnet8', 10, { seed: 3 })
  const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 7) as tf.Tensor4D
  const named = model.namedParameters()
  const torchName = new Map(named.map(([n, v]) => [v.name, n]))
  const vars = named.map(([, v]) => v)
  const before = tf.memory().numTensors
  let grads: Record<string, Float32Array> = {}
  const profile = await tf.profile(() => {
    const pending: BatchNormUpdate[] = []
    const r = gradientStep(model, x, [0, 1, 2, 3], { bn: 'train', statUpdates: pending, variables: vars })
    disposeBatchNormUpdates(pending)
    grads = Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [torchName.get(k)!, Float32Array.from(g.dataSync())]))
    tf.dispose([r.loss, r.hits, ...Object.values(r.grads)])
  })
  expect(tf.memory().numTensors).toBe(before)
  x.dispose()
  model.dispose()
  return { grads, kernels: profile.kernels.map((k) => k.name) }
}

describe('tape saves without a kernel call', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: the same gradients to the bit as the engine's clones, no Identity kernel, nothing left behind`, async () => {
      await tf.setBackend(backend)
      try {
        uninstallTapeSaves()
        const own = await gradients()
        const identities = (k: string[]): number => k.filter((name) => name === 'Identity').length
        expect(installTapeSaves()).toBeNull()
        const shared = await gradients()
        // every saved tensor was one Identity kernel (25+ in this step); now only the model's own (reshapes, clones)
        expect(identities(own.kernels) - identities(shared.kernels)).toBeGreaterThan(25)
        const values = (g: Record<string, Float32Array>): Float32Array[] => Object.keys(g).sort().map((k) => g[k])
        expect(Object.keys(shared.grads).sort()).toEqual(Object.keys(own.grads).sort())
        expect(values(shared.grads).length).toBeGreaterThan(20)
        values(shared.grads).forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(values(own.grads)[i].buffer)), `gradient ${i}`).toBe(true))
      } finally {
        await tf.setBackend('wasm')
      }
    })
  }

  it('leaves second-order gradients to the engine: d2/dx2 of x^3 * sin(x) is right', () => {
    expect(installTapeSaves()).toBeNull()
    const f = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(tf.mul(x, x), x), tf.sin(x))
    const d2 = tf.grad((x: tf.Tensor) => tf.grad(f)(x))
    const xs = [0.3, 1.2, -0.7]
    const got = d2(tf.tensor1d(xs)).dataSync()
    // (x^3 sin x)'' = 6x sin x + 6x^2 cos x - x^3 sin x
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(6 * x * Math.sin(x) + 6 * x * x * Math.cos(x) - x ** 3 * Math.sin(x), 4))
  })

  it('names what is missing from an engine it cannot use', () => {
    expect(missingEngineInternals(tf.engine())).toEqual([])
    expect(missingEngineInternals({})).toEqual(['saveTensorsForBackwardMode', 'makeTensorFromDataId', 'keep', 'state.gradientDepth', 'state.tensorInfo'])
    expect(missingEngineInternals(null)).toContain('saveTensorsForBackwardMode')
  })
})
