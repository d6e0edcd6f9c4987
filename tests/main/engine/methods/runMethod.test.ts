import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { runMethod, type StageEvent } from '../../../../src/main/engine/methods/runMethod'
import { extractFeatures } from '../../../../src/main/engine/train/evaluate'
import type { EvalSet } from '../../../../src/main/engine/train/loop'
import { defaultRecipe, parseRecipe, type Recipe } from '../../../../src/shared/recipes'
import { useBackend } from '../nn/tfBackend'
import { TinyNet, batchesOf, shuffledBatches, syntheticSet } from '../train/tinyNet'

// the "pretrained" net has 5 outputs; the target task has 4 classes, shifted in colour (a domain shift for BN)
const K = 4
const train = syntheticSet(64, K, 21, 0.4)
const val = syntheticSet(32, K, 22, 0.4)
const ood = syntheticSet(32, K, 23, -0.3)
const evalSets: EvalSet[] = [
  { name: 'val', role: 'id-val', batches: () => batchesOf(val, 16) },
  { name: 'ood', role: 'ood', batches: () => batchesOf(ood, 16) },
]
const small = (method: Recipe['method'], patch: Partial<Recipe> = {}): Recipe => ({ ...defaultRecipe(method), epochs: 2, lpC: [0.01, 1, 100], ...patch })
const snapshot = (net: TinyNet): Record<string, number[]> => Object.fromEntries(net.namedParameters().map(([n, v]) => [n, Array.from(v.dataSync())]))

async function run(recipe: Recipe, seed = 1, extra: { signal?: AbortSignal } = {}) {
  const net = new TinyNet(5, 31)
  const stages: StageEvent[] = []
  let headAtTrainStart: number[] | null = null
  const before = snapshot(net)
  const res = await runMethod({
    model: net, recipe, numClasses: K, trainBatches: shuffledBatches(train, 16, 4), plainTrainBatches: () => batchesOf(train, 16),
    evalSets, seed, signal: extra.signal,
    onStage: (e) => {
      stages.push(e)
      if (e.stage === 'train' || e.stage === 'evaluate') headAtTrainStart = Array.from(net.head.weight.dataSync())
    },
  })
  return { net, res, stages: stages.map((s) => s.stage), events: stages, before, headAtTrainStart: headAtTrainStart as number[] | null }
}

beforeAll(async () => {
  await useBackend('cpu')
})

describe('runMethod (methods as recipes)', () => {
  it('LP: fits a logistic-regression head on frozen features; the backbone is untouched', async () => {
    const { net, res, stages, before, events } = await run(defaultRecipe('LP'))
    expect(stages).toEqual(['lp-features', 'lp-features', 'lp', 'lp', 'lp', 'lp', 'lp', 'lp', 'lp', 'lp', 'lp', 'head-init', 'evaluate'])
    expect(res.status).toBe('completed')
    expect(res.train).toBeNull()
    const after = snapshot(net)
    for (const k of Object.keys(after)) if (!k.startsWith('fc.')) expect(after[k], k).toEqual(before[k])
    expect(net.head.weight.shape).toEqual([K, 8])
    // the network with the LP head scores exactly what the probe scored on the same val features
    const lpVal = res.lp!.results.find((r) => r.C === res.lp!.C)!.valAccuracy
    expect(res.final.find((f) => f.name === 'val')!.accuracy).toBeCloseTo(lpVal, 10)
    expect(lpVal).toBeGreaterThan(0.5)
    const lpEvents = events.filter((e) => e.stage === 'lp')
    expect(lpEvents).toHaveLength(9)
    net.dispose()
  })

  it('FT: seeded random head, one LR, BN train, no conversion', async () => {
    const a = await run(small('FT'), 5)
    const b = await run(small('FT'), 5)
    const c = await run(small('FT'), 6)
    expect(a.stages).toEqual(['head-init', 'train'])
    expect(a.headAtTrainStart).toEqual(b.headAtTrainStart)
    expect(a.headAtTrainStart).not.toEqual(c.headAtTrainStart)
    expect(a.res.bnConversion).toBeNull()
    expect(a.res.train!.history).toHaveLength(2)
    expect(a.res.final.map((f) => f.name)).toEqual(['val', 'ood'])
    for (const x of [a, b, c]) x.net.dispose()
  })

  it('LP-FT: LP head, then FT with frozen BN statistics', async () => {
    // without early stopping, so the trained weights (not a kept start) are what the run ends with
    const { net, res, stages, headAtTrainStart, before } = await run(small('LP-FT', { lr: { backbone: 1e-3, head: 1e-3 }, earlyStopping: false }))
    expect(stages.filter((s) => s !== 'lp')).toEqual(['lp-features', 'lp-features', 'head-init', 'train'])
    expect(headAtTrainStart!.some((v) => v !== 0)).toBe(true)
    const after = snapshot(net)
    expect(after['bn1.weight']).not.toEqual(before['bn1.weight'])
    const fresh = new TinyNet(5, 31)
    expect(Array.from(net.bn1.runningMean.dataSync())).toEqual(Array.from(fresh.bn1.runningMean.dataSync()))
    fresh.dispose()
    // the LP head makes the start a real model: evaluated as epoch -1 ("epoch 0, start")
    expect(res.train!.history.map((h) => h.epoch)).toEqual([-1, 0, 1])
    expect(res.train!.history[0].evals.map((e) => e.name)).toEqual(['val', 'ood'])
    expect(res.train!.history[1].lr).toEqual({ backbone: 1e-3, head: 1e-3 })
    net.dispose()
  })

  it('DAFT: BN conversion on the target data, zero head, separate LRs', async () => {
    const { net, res, stages, headAtTrainStart } = await run(small('DAFT', { lr: { backbone: 0.01, head: 1.0 } }))
    expect(stages).toEqual(['bn-conversion', 'head-init', 'train'])
    expect(res.bnConversion!.layers.map((l) => l.name)).toEqual(['bn1', 'bn2'])
    expect(res.bnConversion!.samples).toBe(64)
    expect(headAtTrainStart!.every((v) => v === 0)).toBe(true)
    expect(res.train!.history[0].epoch).toBe(-1)
    expect(res.train!.history[1].lr).toEqual({ backbone: 0.01, head: 1.0 })
    expect(res.final.find((f) => f.name === 'val')!.accuracy).toBeGreaterThan(0.5)
    net.dispose()
  })

  it("bnMomentum sets every BN layer's momentum (PyTorch convention); 'checkpoint' keeps the model's own", async () => {
    const make = (): TinyNet => {
      const net = new TinyNet(5, 31)
      for (const { bn } of net.bnLayers()) bn.momentum = 0.001 // as a Keras checkpoint (0.999) arrives
      return net
    }
    const net = make()
    const res = await runMethod({ model: net, recipe: small('FT', { epochs: 1 }), numClasses: K, trainBatches: shuffledBatches(train, 16, 4), evalSets, seed: 1 })
    expect(res.bnMomentum).toEqual([{ momentum: 0.1, layers: 2 }])
    expect(net.bnLayers().map((l) => l.bn.momentum)).toEqual([0.1, 0.1])
    const kept = make()
    const res2 = await runMethod({ model: kept, recipe: small('FT', { epochs: 1, bnMomentum: 'checkpoint' }), numClasses: K, trainBatches: shuffledBatches(train, 16, 4), evalSets, seed: 1 })
    expect(res2.bnMomentum).toEqual([{ momentum: 0.001, layers: 2 }])
    // with 0.001 the running mean barely moves in one epoch; with 0.1 it moves ~100x further
    const fresh = new TinyNet(5, 31)
    const moved = (n: TinyNet): number => Math.max(...Array.from(n.bn1.runningMean.dataSync()).map((v, i) => Math.abs(v - fresh.bn1.runningMean.dataSync()[i])))
    expect(moved(net)).toBeGreaterThan(20 * moved(kept))
    for (const n of [net, kept, fresh]) n.dispose()
  })

  it('BN conversion measures the augmented training pipeline by default, the plain images on request', async () => {
    const seen: string[] = []
    const tagged = (tag: string, set: typeof train) => () => {
      seen.push(tag)
      return batchesOf(set, 16)
    }
    // a stand-in for augmentation: a brightened copy of the training images
    const brighter = { ...train, x: train.x.map((v) => v + 1) }
    const stats: Record<string, number[]> = {}
    for (const data of ['augmented', 'plain'] as const) {
      seen.length = 0
      const net = new TinyNet(5, 31)
      const res = await runMethod({
        model: net, recipe: small('DAFT', { epochs: 1, bnConversionData: data }), numClasses: K,
        trainBatches: shuffledBatches(train, 16, 4), plainTrainBatches: tagged('plain', train), augmentedTrainBatches: tagged('augmented', brighter),
        evalSets, seed: 1,
      })
      expect(seen).toEqual([data])
      expect(res.bnConversion!.samples).toBe(64)
      stats[data] = Array.from(res.bnConversion!.layers[0].Mt)
      net.dispose()
    }
    expect(stats.augmented.some((v, i) => Math.abs(v - stats.plain[i]) > 1e-3)).toBe(true)
  })

  it('refuses an invalid recipe before any work; LP + BN conversion keeps the eval-mode features', async () => {
    const net = new TinyNet(5, 31)
    const before = snapshot(net)
    const bad: Recipe = { ...defaultRecipe('LP'), method: 'custom', headInit: 'zero' }
    await expect(runMethod({ model: net, recipe: bad, numClasses: K, trainBatches: () => batchesOf(train, 16), evalSets, seed: 1 })).rejects.toThrow(/invalid recipe:\n {2}headInit/)
    expect(snapshot(net)).toEqual(before)
    const f0 = await extractFeatures(net, batchesOf(val, 16))
    const recipe = parseRecipe({ method: 'custom', bnConversion: true, headInit: 'lp', trainBackbone: false, epochs: 0, lr: 0, lpC: [1] })
    const res = await runMethod({ model: net, recipe, numClasses: K, trainBatches: () => batchesOf(train, 16), evalSets, seed: 1 })
    expect(res.bnConversion!.layers.map((l) => l.name)).toEqual(['bn1', 'bn2'])
    expect(Array.from(net.bn1.runningMean.dataSync())).not.toEqual(Array.from(new Float32Array(8)))
    const f1 = await extractFeatures(net, batchesOf(val, 16))
    f1.features.forEach((v, i) => expect(Math.abs(v - f0.features[i])).toBeLessThan(1e-4))
    net.dispose()
  })

  it('needs an ID validation set to choose C, and cancels cleanly', async () => {
    const net = new TinyNet(5, 31)
    await expect(runMethod({ model: net, recipe: defaultRecipe('LP'), numClasses: K, trainBatches: () => batchesOf(train, 16), evalSets: [evalSets[1]], seed: 1 })).rejects.toThrow(/role 'id-val'/)
    net.dispose()
    const ac = new AbortController()
    ac.abort()
    const before = tf.memory().numTensors
    const c = await run(small('DAFT'), 1, { signal: ac.signal })
    expect(c.res.status).toBe('cancelled')
    expect(c.stages).toEqual([])
    c.net.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
