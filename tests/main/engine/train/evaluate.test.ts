import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { evaluate, extractFeatures } from '../../../../src/main/engine/train/evaluate'
import { useBackend } from '../nn/tfBackend'
import { TinyNet, batchesOf, syntheticSet } from './tinyNet'

beforeAll(async () => {
  await useBackend('cpu')
})

describe('evaluate / extractFeatures', () => {
  it('accuracy, per-class accuracy and loss agree with the logits; every batch is disposed', async () => {
    const net = new TinyNet(3, 1)
    const set = syntheticSet(30, 3, 2)
    const before = tf.memory().numTensors
    const r = await evaluate(net, batchesOf(set, 8), { keepLogits: true })
    expect(tf.memory().numTensors).toBe(before)
    expect(r.n).toBe(30)
    const z = r.logits!
    let ok = 0
    let loss = 0
    const hits = [0, 0, 0]
    for (let i = 0; i < 30; i++) {
      const row = Array.from(z.subarray(i * 3, i * 3 + 3))
      const arg = row.indexOf(Math.max(...row))
      expect(r.predictions[i]).toBe(arg)
      if (arg === set.y[i]) {
        ok++
        hits[set.y[i]]++
      }
      const m = Math.max(...row)
      loss += Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) + m - row[set.y[i]]
    }
    expect(r.accuracy).toBeCloseTo(ok / 30, 12)
    expect(r.loss).toBeCloseTo(loss / 30, 5)
    expect(r.classCounts).toEqual([10, 10, 10])
    expect(r.perClass).toEqual(hits.map((h) => h / 10))
    net.dispose()
  })

  it('reports null for classes without samples and rejects labels outside the head', async () => {
    const net = new TinyNet(4, 1)
    const r = await evaluate(net, batchesOf(syntheticSet(9, 3, 3), 4))
    expect(r.perClass[3]).toBeNull()
    const two = new TinyNet(2, 1)
    const before = tf.memory().numTensors
    await expect(evaluate(two, batchesOf(syntheticSet(9, 3, 3), 4))).rejects.toThrow(/label 2 outside the model's 2 classes/)
    expect(tf.memory().numTensors).toBe(before) // the failing batch was disposed too
    two.dispose()
    net.dispose()
  })

  it('extractFeatures returns the eval-mode penultimate features in order', async () => {
    const net = new TinyNet(3, 1)
    const set = syntheticSet(10, 3, 4)
    const f = await extractFeatures(net, batchesOf(set, 4))
    expect([f.n, f.d]).toEqual([10, 8])
    expect(Array.from(f.labels)).toEqual(Array.from(set.y))
    expect(Array.from(f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    const x = tf.tensor4d(set.x, [10, 4, 4, 3])
    const ref = net.features(x, 'eval')
    const want = ref.dataSync()
    for (let i = 0; i < want.length; i++) expect(f.features[i]).toBeCloseTo(want[i], 5)
    tf.dispose([x, ref])
    net.dispose()
  })
})
