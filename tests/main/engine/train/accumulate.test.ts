import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { disposeBatchNormUpdates, type BatchNormUpdate } from '../../../../src/main/engine/nn'
import { gradientStep, microBatchSizes } from '../../../../src/main/engine/train/accumulate'
import { trainRun } from '../../../../src/main/engine/train/loop'
import { defaultRecipe } from '../../../../src/shared/recipes'
import { relativeError } from '../kernels/compare'
import { TinyNet, batchesOf, shuffledBatches, syntheticSet } from './tinyNet'

const K = 4
const set = syntheticSet(64, K, 21)

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

function stepValues(net: TinyNet, bn: 'train' | 'frozen', microBatch?: number): { loss: number; hits: number; grads: Float32Array[]; sizes: number[]; updates: number } {
  const batch = batchesOf(set, 16).next().value!
  const pending: BatchNormUpdate[] = []
  const vars = net.parameters()
  const r = gradientStep(net, batch.x as tf.Tensor4D, batch.y, { bn, statUpdates: pending, variables: vars, microBatch })
  const out = {
    loss: r.loss.dataSync()[0],
    hits: r.hits.dataSync()[0],
    grads: vars.map((v) => Float32Array.from(r.grads[v.name].dataSync())),
    sizes: r.microBatchSizes,
    updates: pending.length,
  }
  tf.dispose([r.loss, r.hits, ...Object.values(r.grads), batch.x])
  disposeBatchNormUpdates(pending)
  return out
}

describe('gradient accumulation', () => {
  it('splits a batch into near-equal micro-batches no larger than asked', () => {
    expect(microBatchSizes(64)).toEqual([64])
    expect(microBatchSizes(64, 64)).toEqual([64])
    expect(microBatchSizes(64, 8)).toEqual(Array(8).fill(8))
    expect(microBatchSizes(64, 24)).toEqual([22, 21, 21])
    expect(microBatchSizes(17, 8)).toEqual([6, 6, 5])
    expect(() => microBatchSizes(8, 0)).toThrow(/microBatch must be a positive integer/)
  })

  it('with BN frozen, k micro-batches give the same loss, hits and gradient as one big batch', () => {
    const net = new TinyNet(K, 5)
    const whole = stepValues(net, 'frozen')
    for (const micro of [8, 5, 3]) {
      const acc = stepValues(net, 'frozen', micro)
      expect(acc.sizes.length, `micro ${micro}`).toBe(Math.ceil(16 / micro))
      expect(Math.abs(acc.loss - whole.loss) / whole.loss).toBeLessThan(1e-5)
      expect(acc.hits).toBe(whole.hits)
      whole.grads.forEach((g, i) => {
        expect(Math.max(...Array.from(g, Math.abs)), `param ${i} has a zero gradient`).toBeGreaterThan(0)
        expect(relativeError(acc.grads[i], g), `micro ${micro} param ${i}`).toBeLessThan(1e-5)
      })
    }
    net.dispose()
  })

  it('with BN in train mode, each micro-batch uses its own statistics (a different, finite gradient) and pushes its own update', () => {
    const net = new TinyNet(K, 6)
    const whole = stepValues(net, 'train')
    const acc = stepValues(net, 'train', 4)
    expect(whole.updates).toBe(2) // two BN layers
    expect(acc.updates).toBe(2 * 4)
    expect(acc.grads.every((g) => g.every(Number.isFinite))).toBe(true)
    expect(Math.max(...acc.grads.map((g, i) => relativeError(g, whole.grads[i])))).toBeGreaterThan(1e-4)
    expect(() => stepValues(net, 'train', 1)).toThrow(/needs 2\+ images per micro-batch/)
    net.dispose()
  })

  it('trainRun with microBatch trains stably in BN train mode, records the BN batch size and does not grow memory', async () => {
    const net = new TinyNet(K, 7)
    const tensors: number[] = []
    const recipe = { ...defaultRecipe('FT'), lr: { backbone: 0.05, head: 0.05 }, epochs: 4, batchSize: 16, earlyStopping: false, bnMode: 'train' as const }
    const r = await trainRun({
      model: net, recipe, trainBatches: shuffledBatches(set, 16, 3), evalSets: [], seed: 1, microBatch: 6,
      onEpoch: () => tensors.push(tf.memory().numTensors),
    })
    expect(r.status).toBe('completed')
    expect(r.bnBatchSize).toBe(6) // 16 -> [6, 5, 5]
    expect(r.history.every((h) => Number.isFinite(h.trainLoss))).toBe(true)
    expect(r.history[3].trainLoss!).toBeLessThan(r.history[0].trainLoss!)
    expect(tensors[3]).toBe(tensors[1])
    const frozen = await trainRun({ model: net, recipe: { ...recipe, epochs: 1, bnMode: 'frozen' }, trainBatches: shuffledBatches(set, 16, 3), evalSets: [], seed: 1, microBatch: 6 })
    expect(frozen.bnBatchSize).toBeNull()
    net.dispose()
  })
})
