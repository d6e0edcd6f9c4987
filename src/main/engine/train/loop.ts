/**
 * The fine-tuning loop: SGD with two parameter groups (backbone eta_theta, head eta_w), cosine
 * schedule stepped per epoch, BN mode from the recipe ('train' = batch statistics with running-stat
 * updates, 'frozen' = stored statistics, gamma/beta still trained), evaluation of every eval set after
 * every epoch, early stopping on the ID validation accuracy (a host copy of the best weights is kept
 * and restored at the end), cancellation between batches, resumable state after every epoch.
 * The loop consumes the batches it is given: it disposes each batch's `x`.
 */
import * as tf from '@tensorflow/tfjs'
import type { Recipe } from '../../../shared/recipes'
import { Rng, type RngState } from '../../../shared/random'
import type { StateDict } from '../io/types'
import type { BNNet } from '../models/types'
import { applyBatchNormUpdates, disposeBatchNormUpdates, type BatchNormUpdate } from '../nn'
import { gradientStep } from './accumulate'
import { cosineLr } from './schedule'
import { SGD, type SGDState } from './sgd'
import { CancelledError, evaluate, type EvalResult, type TrainBatch } from './evaluate'

export type EvalRole = 'id-val' | 'id-test' | 'ood'

export interface EvalSet {
  name: string
  role: EvalRole
  batches: () => AsyncIterable<TrainBatch> | Iterable<TrainBatch>
}

export interface ProgressEvent {
  epoch: number
  /** batch index within the epoch (0-based) */
  batch: number
  /** batches per epoch when known */
  batches?: number
  loss: number
  lr: { backbone: number; head: number }
  /** images per second over the epoch so far */
  imagesPerSec: number
}

export interface EvalSummary {
  name: string
  role: EvalRole
  n: number
  accuracy: number
  loss: number
  perClass: (number | null)[]
}

export interface EpochEvent {
  /** 0-based; -1 is the starting point (the model before any training step, see evaluateStart) */
  epoch: number
  /** null for the starting point */
  trainLoss: number | null
  trainAccuracy: number | null
  lr: { backbone: number; head: number }
  evals: EvalSummary[]
  /** accuracy on the (first) ID validation set, null without one */
  idValAccuracy: number | null
  /** this epoch is the best so far (early stopping) */
  best: boolean
  seconds: number
  imagesPerSec: number
}

/** Everything needed to continue a run after epoch `epochsDone` (host copies only). */
export interface TrainState {
  epochsDone: number
  weights: StateDict
  optimizer: SGDState
  rng: RngState
  history: EpochEvent[]
  best: { epoch: number; idValAccuracy: number; weights: StateDict } | null
}

export interface TrainRunOptions {
  model: BNNet
  recipe: Recipe
  trainBatches: (epoch: number) => AsyncIterable<TrainBatch> | Iterable<TrainBatch>
  /** for progress events */
  batchesPerEpoch?: number
  evalSets: EvalSet[]
  seed: number
  signal?: AbortSignal
  onProgress?: (ev: ProgressEvent) => void
  onEpoch?: (ev: EpochEvent) => void
  /** called after every epoch with the resumable state (building it copies all weights to the host) */
  onCheckpoint?: (state: TrainState) => void | Promise<void>
  /** resume from a state given to onCheckpoint */
  initialState?: TrainState
  /**
   * Evaluate every eval set before the first step and record it as epoch -1 (shown as "epoch 0, start"):
   * for a start that is a real model (an LP head, a converted network). With early stopping the start
   * competes with the trained epochs and is kept when no epoch beats it on ID val.
   */
  evaluateStart?: boolean
  /**
   * Gradient accumulation: at most this many images per forward/backward pass (the recipe's batch is split,
   * see accumulate.ts). In BN 'train' mode the BN statistics then follow the micro-batch (see bnBatchSize).
   */
  microBatch?: number
}

/** The loss became NaN or infinite: training stops and the run is reported as diverged. */
export class DivergedError extends Error {
  constructor(readonly epoch: number, readonly batch: number, readonly loss: number, lr: { backbone: number; head: number }) {
    super(`diverged: the loss became ${loss} at epoch ${epoch + 1}, batch ${batch + 1} (learning rates ${lr.backbone} / ${lr.head})`)
  }
}

export interface TrainRunResult {
  /** 'diverged': the loss became non-finite (see `diverged`); the weights are those of the last finished epoch's best */
  status: 'completed' | 'cancelled' | 'diverged'
  diverged?: { epoch: number; batch: number; loss: number }
  history: EpochEvent[]
  /** epoch whose weights the model holds at the end (best ID val with early stopping, else the last) */
  selectedEpoch: number | null
  /** every eval set at the selected epoch */
  selected: EvalSummary[]
  /** the model's final weights (host copy) */
  weights: StateDict
  /** largest number of images BN normalised over in one forward pass ('train' mode; null when BN was frozen) */
  bnBatchSize: number | null
}

function summarize(name: string, role: EvalRole, r: EvalResult): EvalSummary {
  return { name, role, n: r.n, accuracy: r.accuracy, loss: r.loss, perClass: r.perClass }
}

/** Copy a state dict (host arrays) so later edits cannot alias it. */
function cloneStateDict(sd: StateDict): StateDict {
  return new Map([...sd].map(([k, t]) => [k, { shape: [...t.shape], dtype: t.dtype, data: t.data.slice() }]))
}

/** Parameter groups of a model: backbone (everything but the head) and head. */
export function parameterGroups(model: BNNet, lr: { backbone: number; head: number }): { name: string; params: [string, tf.Variable][]; lr: number }[] {
  const head = new Set(model.headParameters())
  const all = model.namedParameters()
  return [
    { name: 'backbone', params: all.filter(([, v]) => !head.has(v)), lr: lr.backbone },
    { name: 'head', params: all.filter(([, v]) => head.has(v)), lr: lr.head },
  ]
}

/** Run all eval sets; throws CancelledError when the signal fires. */
async function evaluateAll(model: BNNet, sets: EvalSet[], signal?: AbortSignal): Promise<EvalSummary[]> {
  const out: EvalSummary[] = []
  for (const s of sets) out.push(summarize(s.name, s.role, await evaluate(model, s.batches(), { signal })))
  return out
}

export async function trainRun(opts: TrainRunOptions): Promise<TrainRunResult> {
  const { model, recipe, signal } = opts
  if (recipe.epochs < 1) throw new Error(`trainRun: recipe.epochs must be at least 1 (got ${recipe.epochs})`)
  const K = model.numClasses
  const names = new Set<string>()
  for (const s of opts.evalSets) {
    if (names.has(s.name)) throw new Error(`trainRun: two eval sets are named '${s.name}'`)
    names.add(s.name)
  }
  const idVal = opts.evalSets.find((s) => s.role === 'id-val')
  const opt = new SGD(parameterGroups(model, recipe.lr), { momentum: recipe.momentum, weightDecay: recipe.weightDecay })
  const rng = new Rng(opts.seed, 'train')
  let history: EpochEvent[] = []
  let best: TrainState['best'] = null
  let start = 0
  const bnMode = recipe.bnMode === 'train' ? 'train' : 'frozen'
  let bnBatchSize: number | null = null

  try {
    if (opts.initialState) {
      const s = opts.initialState
      if (s.epochsDone > recipe.epochs) throw new Error(`trainRun: the saved state is at epoch ${s.epochsDone}, past the recipe's ${recipe.epochs} epochs`)
      model.loadStateDict(s.weights, { source: 'resume state' })
      opt.loadStateDict(s.optimizer, 'resume state')
      rng.setState(s.rng)
      history = s.history.map((h) => ({ ...h }))
      best = s.best ? { ...s.best, weights: cloneStateDict(s.best.weights) } : null
      start = s.epochsDone
    } else if (opts.evaluateStart) {
      const t0 = performance.now()
      const evals = await evaluateAll(model, opts.evalSets, signal)
      const idValAccuracy = idVal ? evals.find((e) => e.name === idVal.name)!.accuracy : null
      if (recipe.earlyStopping && idValAccuracy !== null) best = { epoch: -1, idValAccuracy, weights: model.stateDict() }
      const ev: EpochEvent = {
        epoch: -1,
        trainLoss: null,
        trainAccuracy: null,
        lr: { backbone: 0, head: 0 },
        evals,
        idValAccuracy,
        best: best !== null,
        seconds: (performance.now() - t0) / 1000,
        imagesPerSec: 0,
      }
      history.push(ev)
      opts.onEpoch?.(ev)
    }

    for (let epoch = start; epoch < recipe.epochs; epoch++) {
      const lr = { backbone: cosineLr(recipe.lr.backbone, epoch, recipe.epochs), head: cosineLr(recipe.lr.head, epoch, recipe.epochs) }
      opt.setLr('backbone', lr.backbone)
      opt.setLr('head', lr.head)
      const t0 = performance.now()
      let lossSum = 0
      let correct = 0
      let images = 0
      let batch = 0
      for await (const b of opts.trainBatches(epoch)) {
        const pending: BatchNormUpdate[] = []
        try {
          if (signal?.aborted) throw new CancelledError('training')
          if (b.x.rank !== 4 || b.y.length !== b.x.shape[0]) throw new Error(`trainRun: epoch ${epoch} batch ${batch}: x [${b.x.shape}] does not match ${b.y.length} labels`)
          for (const c of b.y) if (!(c >= 0 && c < K)) throw new Error(`trainRun: epoch ${epoch} batch ${batch}: label ${c} outside the model's ${K} classes`)
          if (bnMode === 'train' && b.x.shape[0] < 2) {
            b.x.dispose()
            batch++
            continue // BN batch statistics need 2+ images (PyTorch raises; drop the straggler)
          }
          const step = gradientStep(model, b.x as tf.Tensor4D, b.y, { bn: bnMode, statUpdates: pending, variables: opt.variables(), microBatch: opts.microBatch })
          if (bnMode === 'train') bnBatchSize = Math.max(bnBatchSize ?? 0, ...step.microBatchSizes)
          opt.step(step.grads)
          applyBatchNormUpdates(pending)
          const loss = (await step.loss.data())[0]
          const hit = (await step.hits.data())[0]
          tf.dispose([step.loss, step.hits, ...Object.values(step.grads)])
          if (!Number.isFinite(loss)) throw new DivergedError(epoch, batch, loss, lr)
          const n = b.y.length
          lossSum += loss * n
          correct += hit
          images += n
          const secs = (performance.now() - t0) / 1000
          opts.onProgress?.({ epoch, batch, batches: opts.batchesPerEpoch, loss, lr, imagesPerSec: secs > 0 ? images / secs : 0 })
          batch++
        } finally {
          disposeBatchNormUpdates(pending)
          if (!b.x.isDisposed) b.x.dispose()
        }
      }
      if (images === 0) throw new Error(`trainRun: epoch ${epoch} had no training images`)
      const trainSecs = (performance.now() - t0) / 1000
      const evals = await evaluateAll(model, opts.evalSets, signal)
      const idValAccuracy = idVal ? evals.find((e) => e.name === idVal.name)!.accuracy : null
      // without an ID val set every epoch is "best", so the last one is kept
      const isBest = !recipe.earlyStopping || best === null || idValAccuracy === null || idValAccuracy > best.idValAccuracy
      if (isBest && recipe.earlyStopping) best = { epoch, idValAccuracy: idValAccuracy ?? 0, weights: model.stateDict() }
      const ev: EpochEvent = {
        epoch,
        trainLoss: lossSum / images,
        trainAccuracy: correct / images,
        lr,
        evals,
        idValAccuracy,
        best: isBest,
        seconds: (performance.now() - t0) / 1000,
        imagesPerSec: images / trainSecs,
      }
      history.push(ev)
      opts.onEpoch?.(ev)
      if (opts.onCheckpoint) {
        await opts.onCheckpoint({
          epochsDone: epoch + 1,
          weights: model.stateDict(),
          optimizer: opt.stateDict(),
          rng: rng.getState(),
          history: history.map((h) => ({ ...h })),
          best: best ? { ...best, weights: cloneStateDict(best.weights) } : null,
        })
      }
    }

    let selectedEpoch: number | null = history.length ? history[history.length - 1].epoch : null
    if (recipe.earlyStopping && best) {
      if (best.epoch !== selectedEpoch) model.loadStateDict(best.weights, { source: 'best epoch' })
      selectedEpoch = best.epoch
    }
    const sel = history.find((h) => h.epoch === selectedEpoch)
    return { status: 'completed', history, selectedEpoch, selected: sel ? sel.evals : [], weights: model.stateDict(), bnBatchSize }
  } catch (e) {
    if (e instanceof CancelledError) {
      return { status: 'cancelled', history, selectedEpoch: null, selected: [], weights: model.stateDict(), bnBatchSize }
    }
    if (e instanceof DivergedError) {
      return { status: 'diverged', diverged: { epoch: e.epoch, batch: e.batch, loss: e.loss }, history, selectedEpoch: null, selected: [], weights: model.stateDict(), bnBatchSize }
    }
    throw e
  } finally {
    opt.dispose()
  }
}
