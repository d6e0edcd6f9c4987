/**
 * One run inside the engine process: load the pretrained model, build the data, run the method's
 * recipe (runMethod), stream batch/epoch events, write a resumable checkpoint after every epoch, and
 * save the final weights (safetensors, PyTorch names) for analysis and export.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { RunSpec, EpochMetrics } from '../../../shared/experiments'
import { FINAL_WEIGHTS, INITIAL_WEIGHTS, type EngineEvent, type RunOutcome } from '../protocol'
import { loadPretrained, type ArchName } from '../models'
import { saveSafetensors } from '../io'
import { runMethod } from '../methods/runMethod'
import { assessRun } from '../../../shared/health'
import { createLoader } from '../data/loader'
import type { EpochEvent } from '../train/loop'
import { evalLoader, loadExperimentSamples, trainTransformOf, type LoaderSet } from './experimentData'
import { cleanCheckpointLeftovers, clearCheckpoints, dropPreviousCheckpoint, loadCheckpointState, saveCheckpoint } from './checkpoint'

export { INITIAL_WEIGHTS, FINAL_WEIGHTS }

export interface RunJobRequest {
  runId: number
  spec: RunSpec
  runDir: string
  cacheDir: string
  resume: boolean
  signal: AbortSignal
  emit: (ev: EngineEvent) => void
  /** loader worker threads (tests pass 0) */
  workers?: number
}

function toEpochMetrics(ev: EpochEvent): EpochMetrics {
  const acc: Record<string, number> = ev.trainAccuracy === null ? {} : { train: ev.trainAccuracy }
  for (const e of ev.evals) acc[e.name] = e.accuracy
  return { epoch: ev.epoch, trainLoss: ev.trainLoss, acc, lr: ev.lr, seconds: ev.seconds }
}

export async function runJob(req: RunJobRequest): Promise<RunOutcome> {
  const { spec, runId, emit } = req
  const recipe = spec.recipe
  // the run's folder is private (decoded data and weights); opening it removes what a killed checkpoint write left
  mkdirSync(req.runDir, { recursive: true, mode: 0o700 })
  cleanCheckpointLeftovers(req.runDir)
  // a run that starts over must not rotate a stale checkpoint into checkpoint.prev
  if (!req.resume) clearCheckpoints(req.runDir)
  emit({ type: 'run.stage', runId, stage: 'loading data' })
  const data = await loadExperimentSamples(spec.data, spec.seed)
  const K = data.classes.length
  emit({ type: 'run.stage', runId, stage: `loading ${spec.model.path}` })
  const model = await loadPretrained(spec.model.path, spec.model.arch as ArchName | undefined)
  const loaders: LoaderSet[] = []
  const batch = recipe.batchSize
  const trainLoader = createLoader({
    samples: data.train,
    batchSize: batch,
    shuffle: true,
    seed: spec.seed,
    transform: trainTransformOf(spec.data),
    cacheDir: req.cacheDir,
    workers: req.workers,
  })
  const plainTrain = evalLoader(data.train, spec.data, batch, req.cacheDir, req.workers)
  loaders.push(plainTrain)
  const evalSets = []
  if (data.val.length) {
    const l = evalLoader(data.val, spec.data, batch, req.cacheDir, req.workers)
    loaders.push(l)
    evalSets.push({ name: 'id-val', role: 'id-val' as const, batches: l.batches })
  }
  if (data.test.length) {
    const l = evalLoader(data.test, spec.data, batch, req.cacheDir, req.workers)
    loaders.push(l)
    evalSets.push({ name: 'id-test', role: 'id-test' as const, batches: l.batches })
  }
  for (const o of data.ood) {
    const l = evalLoader(o.samples, spec.data, batch, req.cacheDir, req.workers)
    loaders.push(l)
    evalSets.push({ name: o.name, role: 'ood' as const, batches: l.batches })
  }
  const initialState = req.resume ? loadCheckpointState(req.runDir) : null
  if (initialState) model.replaceHead(K, 'zero') // the saved weights hold the task head
  let step = initialState ? initialState.history.filter((h) => h.epoch >= 0).length * trainLoader.numBatches : 0
  // every step's loss since this process took the run (the health check; the store keeps a thinned copy)
  const losses: number[] = []
  let initialSaved: Promise<void> = Promise.resolve()
  try {
    const result = await runMethod({
      model,
      recipe,
      numClasses: K,
      trainBatches: (epoch) => trainLoader.epoch(epoch),
      plainTrainBatches: plainTrain.batches,
      // BN conversion statistics: one pass of the augmented training pipeline with its own random draws
      // ("epoch -1"; eval-mode BN), as the authors' code estimates them over its training loader
      augmentedTrainBatches: () => trainLoader.epoch(-1),
      batchesPerEpoch: trainLoader.numBatches,
      evalSets,
      seed: spec.seed,
      signal: req.signal,
      initialState: initialState ?? undefined,
      onStage: (ev) => {
        emit({ type: 'run.stage', runId, stage: ev.stage })
        // the weights fine-tuning starts from (converted BN, initial head): the reference of the distortion analysis
        if (ev.stage === 'head-init') initialSaved = saveSafetensors(join(req.runDir, INITIAL_WEIGHTS), model.stateDict(), { arch: model.arch })
      },
      onProgress: (ev) => {
        losses.push(ev.loss)
        emit({ type: 'run.batch', runId, epoch: ev.epoch, step: step++, batch: ev.batch, batches: ev.batches ?? trainLoader.numBatches, loss: ev.loss, lr: ev.lr, imagesPerSec: ev.imagesPerSec })
      },
      // the start (epoch -1) has no checkpoint of its own: record its evaluation as it happens
      onEpoch: (ev) => {
        if (ev.epoch < 0) emit({ type: 'run.epoch', runId, metrics: toEpochMetrics(ev) })
      },
      onCheckpoint: async (state) => {
        const saved = saveCheckpoint(req.runDir, state)
        const last = state.history[state.history.length - 1]
        emit({ type: 'run.epoch', runId, metrics: toEpochMetrics(last), imagesPerSec: last.imagesPerSec, checkpoint: saved })
      },
    })
    await initialSaved
    if (result.status === 'completed') {
      await saveSafetensors(join(req.runDir, FINAL_WEIGHTS), result.weights, { arch: model.arch, classes: JSON.stringify(data.classes), method: recipe.method })
      // a finished run keeps its newest checkpoint only
      dropPreviousCheckpoint(req.runDir)
    }
    if (!recipe.trainBackbone && result.status === 'completed') {
      // LP: no epochs; record its single evaluation as epoch 0
      const acc: Record<string, number> = {}
      for (const e of result.final) acc[e.name] = e.accuracy
      emit({ type: 'run.epoch', runId, metrics: { epoch: 0, trainLoss: null, acc, lr: { backbone: 0, head: 0 }, seconds: 0 } })
    }
    const final: Record<string, number> = {}
    for (const e of result.final) final[e.name] = e.accuracy
    const bestEpoch = result.train?.selectedEpoch ?? (recipe.trainBackbone ? null : 0)
    const history = result.train?.history ?? []
    const health =
      result.status === 'cancelled'
        ? null
        : assessRun({
            recipe,
            numClasses: K,
            // a resumed run checks the losses since it resumed; its start and epochs come from the saved history
            losses,
            epochs: history.map((h) => ({ epoch: h.epoch, trainAccuracy: h.trainAccuracy, valAccuracy: h.idValAccuracy })),
            bestEpoch,
            diverged: result.train?.diverged ?? null,
            bnMomentum: result.bnMomentum,
          })
    const status = result.status === 'completed' ? 'succeeded' : result.status
    const d = result.train?.diverged
    return {
      status,
      bestEpoch: status === 'succeeded' ? bestEpoch : null,
      final: status === 'succeeded' ? final : {},
      backend: tf.getBackend(),
      health,
      ...(d ? { error: `diverged: the loss became ${d.loss} at epoch ${d.epoch + 1}, batch ${d.batch + 1} (lr ${recipe.lr.backbone} / ${recipe.lr.head})` } : {}),
    }
  } finally {
    model.dispose()
    await Promise.all([trainLoader.close(), ...loaders.map((l) => l.loader.close())])
  }
}
