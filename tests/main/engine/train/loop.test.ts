import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { evaluate } from '../../../../src/main/engine/train/evaluate'
import { trainRun, type EpochEvent, type EvalSet, type ProgressEvent, type TrainState } from '../../../../src/main/engine/train/loop'
import { cosineLr } from '../../../../src/main/engine/train/schedule'
import { defaultRecipe, type Recipe } from '../../../../src/shared/recipes'
import { useBackend } from '../nn/tfBackend'
import { TinyNet, batchesOf, shuffledBatches, syntheticSet } from './tinyNet'

const K = 4
const train = syntheticSet(96, K, 1)
const val = syntheticSet(40, K, 2)
const ood = syntheticSet(40, K, 3, 0.7)
const evalSets = (valSet = val): EvalSet[] => [
  { name: 'val', role: 'id-val', batches: () => batchesOf(valSet, 20) },
  { name: 'shifted', role: 'ood', batches: () => batchesOf(ood, 20) },
]
const recipe = (patch: Partial<Recipe> = {}): Recipe => ({ ...defaultRecipe('FT'), lr: { backbone: 0.05, head: 0.05 }, epochs: 3, batchSize: 16, ...patch })
const weightsOf = (net: TinyNet): Float32Array[] => net.parameters().map((p) => p.dataSync().slice() as Float32Array)

beforeAll(async () => {
  await useBackend('cpu')
})

describe('trainRun', () => {
  it('learns, follows the cosine schedule per group, reports progress and epochs, and does not leak', async () => {
    const net = new TinyNet(K, 7)
    const progress: ProgressEvent[] = []
    const epochs: EpochEvent[] = []
    const tensorsAfterEpoch: number[] = []
    const r = await trainRun({
      model: net, recipe: recipe({ epochs: 4, lr: { backbone: 0.05, head: 0.2 } }), trainBatches: shuffledBatches(train, 16, 5), batchesPerEpoch: 6,
      evalSets: evalSets(), seed: 1,
      onProgress: (e) => progress.push(e),
      onEpoch: (e) => {
        epochs.push(e)
        tensorsAfterEpoch.push(tf.memory().numTensors)
      },
    })
    expect(r.status).toBe('completed')
    expect(progress).toHaveLength(4 * 6)
    expect(progress.every((p) => p.imagesPerSec > 0 && p.batches === 6 && Number.isFinite(p.loss))).toBe(true)
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3])
    epochs.forEach((e, i) => {
      expect(e.lr.backbone).toBeCloseTo(cosineLr(0.05, i, 4), 12)
      expect(e.lr.head).toBeCloseTo(cosineLr(0.2, i, 4), 12)
      expect(e.evals.map((x) => x.name)).toEqual(['val', 'shifted'])
    })
    expect(epochs[3].trainLoss!).toBeLessThan(epochs[0].trainLoss!)
    expect(epochs[3].idValAccuracy).toBeGreaterThan(0.9)
    expect(tensorsAfterEpoch[1]).toBe(tensorsAfterEpoch[0])
    expect(tensorsAfterEpoch[3]).toBe(tensorsAfterEpoch[0])
    // early stopping keeps the first best ID-val epoch and reports every set there
    const bestAcc = Math.max(...epochs.map((e) => e.idValAccuracy!))
    const bestEpoch = epochs.find((e) => e.idValAccuracy === bestAcc)!.epoch
    expect(r.selectedEpoch).toBe(bestEpoch)
    expect(r.selected).toEqual(epochs[bestEpoch].evals)
    net.dispose()
  })

  it('early stopping restores the best ID-val weights, not the last ones', async () => {
    // an "ID val" set with shifted labels: the better the model learns, the worse it scores there
    const misleading = { ...val, y: val.y.map((c) => (c + 1) % K) }
    const net = new TinyNet(K, 8)
    let last: TrainState | null = null
    const r = await trainRun({
      model: net, recipe: recipe({ epochs: 4 }), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(misleading), seed: 1,
      onCheckpoint: (s) => {
        last = s
      },
    })
    expect(r.selectedEpoch).not.toBeNull()
    expect(r.selectedEpoch!).toBeLessThan(3)
    const again = await evaluate(net, batchesOf(misleading, 20))
    expect(again.accuracy).toBe(r.history[r.selectedEpoch!].idValAccuracy)
    expect(again.accuracy).toBeGreaterThan(r.history[3].idValAccuracy!)
    const lastW = last!.weights.get('fc.weight')!.data
    expect(Array.from(r.weights.get('fc.weight')!.data)).not.toEqual(Array.from(lastW))
    // without early stopping the last epoch is kept
    const net2 = new TinyNet(K, 8)
    const r2 = await trainRun({ model: net2, recipe: recipe({ epochs: 4, earlyStopping: false }), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(misleading), seed: 1 })
    expect(r2.selectedEpoch).toBe(3)
    expect(Array.from(r2.weights.get('fc.weight')!.data)).toEqual(Array.from(lastW))
    net.dispose()
    net2.dispose()
  })

  it("BN mode 'frozen' keeps running statistics (gamma/beta still train); 'train' updates them", async () => {
    for (const bnMode of ['frozen', 'train'] as const) {
      const net = new TinyNet(K, 9)
      const rm0 = net.bn1.runningMean.dataSync().slice()
      const g0 = net.bn1.weight.dataSync().slice()
      await trainRun({ model: net, recipe: recipe({ epochs: 1, bnMode, earlyStopping: false }), trainBatches: shuffledBatches(train, 16, 5), evalSets: [], seed: 1 })
      const moved = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => Array.from(a).some((v, i) => Math.abs(v - b[i]) > 1e-6)
      expect(moved(net.bn1.runningMean.dataSync(), rm0), bnMode).toBe(bnMode === 'train')
      expect(moved(net.bn1.weight.dataSync(), g0), bnMode).toBe(true)
      net.dispose()
    }
  })

  it('a zero head LR leaves the head alone while the backbone trains (separate groups)', async () => {
    const net = new TinyNet(K, 10)
    const head0 = net.head.weight.dataSync().slice()
    const conv0 = net.conv1.weight.dataSync().slice()
    await trainRun({ model: net, recipe: recipe({ method: 'custom', epochs: 1, lr: { backbone: 0.05, head: 0 } }), trainBatches: shuffledBatches(train, 16, 5), evalSets: [], seed: 1 })
    expect(Array.from(net.head.weight.dataSync())).toEqual(Array.from(head0))
    expect(Array.from(net.conv1.weight.dataSync())).not.toEqual(Array.from(conv0))
    net.dispose()
  })

  it('cancels between batches, disposing what it was given', async () => {
    const net = new TinyNet(K, 11)
    const ac = new AbortController()
    const before = tf.memory().numTensors
    let seen = 0
    const r = await trainRun({
      model: net, recipe: recipe(), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(), seed: 1, signal: ac.signal,
      onProgress: () => {
        if (++seen === 3) ac.abort()
      },
    })
    expect(r.status).toBe('cancelled')
    expect(seen).toBe(3)
    expect(r.history).toEqual([])
    expect(tf.memory().numTensors).toBe(before)
    net.dispose()
  })

  it('resumes from a checkpoint to the same weights as an uninterrupted run', async () => {
    const states: TrainState[] = []
    const a = new TinyNet(K, 12)
    const full = await trainRun({
      model: a, recipe: recipe(), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(), seed: 3,
      onCheckpoint: (s) => {
        states.push(s)
      },
    })
    expect(states.map((s) => s.epochsDone)).toEqual([1, 2, 3])
    const resumedState: TrainState = structuredClone(states[0])
    const b = new TinyNet(K, 99) // different init: everything must come from the state
    const epochs: number[] = []
    const res = await trainRun({
      model: b, recipe: recipe(), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(), seed: 3, initialState: resumedState,
      onEpoch: (e) => epochs.push(e.epoch),
    })
    expect(epochs).toEqual([1, 2])
    expect(res.history.map((h) => h.epoch)).toEqual([0, 1, 2])
    expect(res.selectedEpoch).toBe(full.selectedEpoch)
    const wa = weightsOf(a)
    const wb = weightsOf(b)
    wa.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - wb[i][j])).toBeLessThan(1e-5)))
    a.dispose()
    b.dispose()
  })

  it('rejects bad labels with a clear message; a non-finite loss ends the run as diverged, saying where', async () => {
    const net = new TinyNet(2, 13)
    await expect(trainRun({ model: net, recipe: recipe(), trainBatches: shuffledBatches(train, 16, 5), evalSets: [], seed: 1 })).rejects.toThrow(/label [23] outside the model's 2 classes/)
    net.dispose()
    const net2 = new TinyNet(K, 13)
    const before = tf.memory().numTensors
    const r = await trainRun({ model: net2, recipe: recipe({ lr: { backbone: 1e30, head: 1e30 } }), trainBatches: shuffledBatches(train, 16, 5), evalSets: [], seed: 1 })
    expect(r.status).toBe('diverged')
    expect(r.diverged!.epoch).toBe(0)
    expect(Number.isFinite(r.diverged!.loss)).toBe(false)
    expect(r.selectedEpoch).toBeNull()
    expect(tf.memory().numTensors).toBe(before)
    net2.dispose()
  })

  it('evaluateStart: the start is epoch -1 ("epoch 0, start") and early stopping keeps it when no trained epoch beats it', async () => {
    const net = new TinyNet(K, 7)
    await trainRun({ model: net, recipe: recipe({ epochs: 4, lr: { backbone: 0.05, head: 0.2 } }), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(), seed: 1 })
    const trained = weightsOf(net)
    // training on wrong labels (each label shifted by one class) can only make ID val worse than this start
    const wrong = { ...train, y: Int32Array.from(train.y, (c) => (c + 1) % K) }
    const epochs: EpochEvent[] = []
    const r = await trainRun({
      model: net, recipe: recipe({ epochs: 2, lr: { backbone: 0.05, head: 0.2 } }), trainBatches: shuffledBatches(wrong, 16, 5), evalSets: evalSets(), seed: 1,
      evaluateStart: true, onEpoch: (e) => epochs.push(e),
    })
    expect(epochs.map((e) => e.epoch)).toEqual([-1, 0, 1])
    expect(epochs[0].trainLoss).toBeNull()
    expect(epochs[0].idValAccuracy).toBeGreaterThan(0.9)
    expect(Math.max(epochs[1].idValAccuracy!, epochs[2].idValAccuracy!)).toBeLessThan(epochs[0].idValAccuracy!)
    expect(r.selectedEpoch).toBe(-1)
    expect(r.selected).toEqual(epochs[0].evals)
    // the model holds the start's weights again
    weightsOf(net).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(trained[i])))
    // on the right labels a trained epoch beats the start and is kept
    const r2 = await trainRun({ model: net, recipe: recipe({ epochs: 1, lr: { backbone: 0.05, head: 0.2 } }), trainBatches: shuffledBatches(train, 16, 5), evalSets: evalSets(syntheticSet(40, K, 9)), seed: 1, evaluateStart: true })
    expect(r2.history[0].epoch).toBe(-1)
    expect(r2.selectedEpoch === 0 || r2.history[1].idValAccuracy! <= r2.history[0].idValAccuracy!).toBe(true)
    net.dispose()
  })
})
