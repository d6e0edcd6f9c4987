/**
 * One fine-tuning run of a recipe, end to end (paper Table 1 and its ablations as data):
 *   1. bnConversion: convertBatchNorm on the target training batches (DAFT Algorithm 1)
 *   2. head init: 'random' (PyTorch default Linear init, seeded), 'zero', or 'lp' (logistic regression on
 *      frozen eval-mode features, C chosen on ID val accuracy, then copied into the head)
 *   3. trainBackbone: trainRun (SGD with eta_theta / eta_w, cosine, BN mode, early stopping);
 *      LP stops after step 2 and evaluates every set.
 * LP-FT = LP then FT with frozen BN and one small LR; DAFT = conversion, zero head, two LRs.
 * Resuming (initialState) skips steps 1-2: the saved weights already contain them.
 */
import * as tf from '@tensorflow/tfjs'
import { validateRecipe, type Recipe } from '../../../shared/recipes'
import type { StateDict } from '../io/types'
import type { BNNet } from '../models/types'
import { CancelledError, evaluate, extractFeatures, type TrainBatch } from '../train/evaluate'
import { trainRun, type EpochEvent, type EvalSet, type EvalSummary, type ProgressEvent, type TrainRunResult, type TrainState } from '../train/loop'
import { convertBatchNorm, type BNConversionResult } from './convertBatchNorm'
import { selectC, type CResult } from './logisticRegression'

type BatchStream = AsyncIterable<TrainBatch> | Iterable<TrainBatch>

export type StageEvent =
  | { stage: 'bn-conversion'; batches: number; samples: number; data: Recipe['bnConversionData'] }
  | { stage: 'lp-features'; set: string; n: number }
  | { stage: 'lp'; result: CResult; index: number; total: number }
  | { stage: 'head-init'; headInit: Recipe['headInit'] }
  | { stage: 'train'; epochs: number }
  | { stage: 'evaluate' }

export interface RunMethodOptions {
  model: BNNet
  recipe: Recipe
  /** classes of the target task (the head is rebuilt with this many outputs) */
  numClasses: number
  trainBatches: (epoch: number) => BatchStream
  /** training batches without augmentation, for LP features and (recipe.bnConversionData 'plain') BN
   *  conversion statistics (default: trainBatches(0)) */
  plainTrainBatches?: () => BatchStream
  /** one pass of the augmented training pipeline for BN conversion statistics (recipe.bnConversionData
   *  'augmented'); default: trainBatches(0) */
  augmentedTrainBatches?: () => BatchStream
  batchesPerEpoch?: number
  evalSets: EvalSet[]
  seed: number
  signal?: AbortSignal
  onStage?: (ev: StageEvent) => void
  onProgress?: (ev: ProgressEvent) => void
  onEpoch?: (ev: EpochEvent) => void
  onCheckpoint?: (state: TrainState) => void | Promise<void>
  initialState?: TrainState
}

export interface MethodResult {
  /** 'diverged': the loss became non-finite (result.train.diverged says where) */
  status: 'completed' | 'cancelled' | 'diverged'
  recipe: Recipe
  bnConversion: BNConversionResult | null
  lp: { C: number; results: CResult[] } | null
  train: TrainRunResult | null
  /** every eval set for the final model (early-stopped epoch, or the LP head) */
  final: EvalSummary[]
  /** final weights (host copy) */
  weights: StateDict
  /** BN momentum (PyTorch convention) the run trained with, per distinct value: layers that use it */
  bnMomentum: { momentum: number; layers: number }[]
}

/**
 * Sets every BN layer's running-statistics momentum (PyTorch convention) to `m`, or keeps the checkpoint's
 * per-layer values for 'checkpoint'. Returns what the layers use afterwards, grouped by value.
 */
export function setBatchNormMomentum(model: BNNet, m: Recipe['bnMomentum']): { momentum: number; layers: number }[] {
  const counts = new Map<number, number>()
  for (const { bn } of model.bnLayers()) {
    if (m !== 'checkpoint') bn.momentum = m
    counts.set(bn.momentum, (counts.get(bn.momentum) ?? 0) + 1)
  }
  return [...counts].map(([momentum, layers]) => ({ momentum, layers }))
}

async function* imagesOnly(batches: BatchStream, signal?: AbortSignal): AsyncGenerator<tf.Tensor4D> {
  for await (const b of batches) {
    if (signal?.aborted) {
      b.x.dispose()
      throw new CancelledError('BN conversion')
    }
    yield b.x
  }
}

export async function runMethod(opts: RunMethodOptions): Promise<MethodResult> {
  const { model, recipe, signal } = opts
  const problems = validateRecipe(recipe)
  if (problems.length) throw new Error(`runMethod: invalid recipe:\n  ${problems.join('\n  ')}`)
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) throw new Error(`runMethod: numClasses must be an integer >= 2 (got ${opts.numClasses})`)
  const plain = opts.plainTrainBatches ?? (() => opts.trainBatches(0))
  const augmented = opts.augmentedTrainBatches ?? (() => opts.trainBatches(0))
  const bnMomentum = setBatchNormMomentum(model, recipe.bnMomentum)
  const idVal = opts.evalSets.find((s) => s.role === 'id-val')
  const result: MethodResult = { status: 'completed', recipe, bnConversion: null, lp: null, train: null, final: [], weights: new Map(), bnMomentum }

  try {
    if (!opts.initialState) {
      if (recipe.bnConversion) {
        const source = recipe.bnConversionData === 'plain' ? plain() : augmented()
        result.bnConversion = await convertBatchNorm(model, imagesOnly(source, signal), { disposeBatches: true })
        opts.onStage?.({ stage: 'bn-conversion', batches: result.bnConversion.batches, samples: result.bnConversion.samples, data: recipe.bnConversionData })
      }
      if (recipe.headInit === 'lp') {
        if (!idVal && recipe.lpC.length > 1) {
          throw new Error(`runMethod: the LP head chooses C on an ID validation set: add an eval set with role 'id-val' or give lpC a single value`)
        }
        const tr = await extractFeatures(model, plain(), { signal })
        opts.onStage?.({ stage: 'lp-features', set: 'train', n: tr.n })
        const va = idVal ? await extractFeatures(model, idVal.batches(), { signal }) : tr
        if (idVal) opts.onStage?.({ stage: 'lp-features', set: idVal.name, n: va.n })
        const { best, results } = await selectC(
          { X: tr.features, n: tr.n, d: tr.d, y: tr.labels },
          { X: va.features, n: va.n, d: va.d, y: va.labels },
          opts.numClasses,
          { grid: recipe.lpC, maxIter: recipe.lpMaxIter, signal, onResult: (r, index, total) => opts.onStage?.({ stage: 'lp', result: r, index, total }) },
        )
        model.replaceHead(opts.numClasses, 'zero')
        const w = tf.tensor2d(best.W, [opts.numClasses, best.d])
        const b = tf.tensor1d(best.b)
        model.head.weight.assign(w)
        model.head.bias?.assign(b)
        tf.dispose([w, b])
        result.lp = { C: best.C, results }
      } else {
        model.replaceHead(opts.numClasses, recipe.headInit, opts.seed)
      }
      opts.onStage?.({ stage: 'head-init', headInit: recipe.headInit })
    }

    if (recipe.trainBackbone) {
      opts.onStage?.({ stage: 'train', epochs: recipe.epochs })
      result.train = await trainRun({
        model,
        recipe,
        trainBatches: opts.trainBatches,
        batchesPerEpoch: opts.batchesPerEpoch,
        evalSets: opts.evalSets,
        seed: opts.seed,
        signal,
        onProgress: opts.onProgress,
        onEpoch: opts.onEpoch,
        onCheckpoint: opts.onCheckpoint,
        initialState: opts.initialState,
        // a start that is a real model (an LP head; DAFT's converted network with its zero head) is "epoch 0"
        // and competes in early stopping; a random head's start is noise and is not evaluated
        evaluateStart: recipe.headInit !== 'random',
      })
      result.status = result.train.status
      result.final = result.train.selected
      result.weights = result.train.weights
      return result
    }

    opts.onStage?.({ stage: 'evaluate' })
    for (const s of opts.evalSets) {
      const r = await evaluate(model, s.batches(), { signal })
      result.final.push({ name: s.name, role: s.role, n: r.n, accuracy: r.accuracy, loss: r.loss, perClass: r.perClass })
    }
    result.weights = model.stateDict()
    return result
  } catch (e) {
    if (e instanceof CancelledError || signal?.aborted) {
      result.status = 'cancelled'
      result.weights = model.stateDict()
      return result
    }
    throw e
  }
}
