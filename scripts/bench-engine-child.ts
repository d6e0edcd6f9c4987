/**
 * One case of scripts/bench-engine.ts, run in its own process: train (through trainRun, so gradient accumulation
 * and the BN kernels are the ones users get) or infer, random data; optionally a per-kernel profile of one training
 * step split into forward and backward, and the BN-conversion ratio.
 */
import * as tf from '@tensorflow/tfjs'
import { initBackend, type BackendName } from '../src/main/engine/backend'
import { convertBatchNorm } from '../src/main/engine/methods/convertBatchNorm'
import { createModel, loadPretrained, type ArchName, type BNNet } from '../src/main/engine/models'
import { disposeBatchNormUpdates, type BatchNormUpdate } from '../src/main/engine/nn'
import { gradientStep } from '../src/main/engine/train/accumulate'
import type { TrainBatch } from '../src/main/engine/train/evaluate'
import { trainRun } from '../src/main/engine/train/loop'
import { defaultRecipe } from '../src/shared/recipes'

export interface CaseSpec {
  model: string
  imageSize: number
  batch: number
  mode: 'train' | 'infer'
  microBatch?: number
  steps: number
  warmup: number
  backend: string
  profile?: boolean
  conversion?: boolean
  /** alternating project/PyTorch rounds for this case (default: the run's --rounds) */
  rounds?: number
}

export interface KernelRow {
  name: string
  forwardMs: number
  forwardCount: number
  backwardMs: number
  backwardCount: number
}

export interface ChildResult {
  /** the engine's device string, e.g. "CPU (wasm SIMD, 1 thread) + native kernels (avx512, 2 threads)" */
  device: string
  imgPerSec: number
  /** images per CPU-second of this process (all threads): less sensitive to other load on the machine */
  cpuImgPerSec: number
  peakRssMb: number
  bnBatchSize: number | null
  /** resident set size after each training step (MB): flat after the first steps = no growth */
  rssAfterStepMb?: number[]
  /** live tfjs tensors after each training step */
  tensorsAfterStep?: number[]
  profile?: { totalMs: number; forwardMs: number; backwardMs: number; kernels: KernelRow[] }
  conversion?: { images: number; convertMs: number; evalMs: number; ratio: number }
}

const K = 10
/** the project's MobileNetV2 (alpha 0.35, a TF.js layers model; its own head) */
export const MOBILENET = process.env.DAFT_BENCH_MOBILENET ?? '/work/shared/data/models/mobilenetv2-tm'

function randomBatch(n: number, size: number): TrainBatch {
  const y = Int32Array.from({ length: n }, (_, i) => (i * 7) % K)
  return { x: tf.randomUniform([n, size, size, 3], -1, 1, 'float32', 1), y, index: Int32Array.from({ length: n }, (_, i) => i) }
}

async function trainSpeed(model: BNNet, spec: CaseSpec): Promise<Pick<ChildResult, 'imgPerSec' | 'cpuImgPerSec' | 'bnBatchSize' | 'rssAfterStepMb' | 'tensorsAfterStep'>> {
  const total = spec.warmup + spec.steps
  const stamps: number[] = []
  const rss: number[] = []
  const tensors: number[] = []
  const recipe = { ...defaultRecipe('FT'), epochs: 1, batchSize: spec.batch, earlyStopping: false, bnMode: 'train' as const, lr: { backbone: 1e-3, head: 1e-3 } }
  // one batch made before the clock starts and fed again each step (as PyTorch's side does): generating 32 random
  // 224 px images on wasm takes ~70 ms, which is not training; clones share the data and the loop disposes them
  const batch = randomBatch(spec.batch, spec.imageSize)
  let start = performance.now()
  let cpuStart = process.cpuUsage()
  let cpuEnd = cpuStart
  const r = await trainRun({
    model, recipe, evalSets: [], seed: 0, microBatch: spec.microBatch,
    trainBatches: function* () {
      for (let i = 0; i < total; i++) yield { ...batch, x: batch.x.clone() }
    },
    onProgress: (ev) => {
      stamps.push(performance.now())
      cpuEnd = process.cpuUsage()
      rss.push(Math.round(process.memoryUsage().rss / 2 ** 20))
      tensors.push(tf.memory().numTensors)
      if (ev.batch === spec.warmup - 1) {
        start = performance.now()
        cpuStart = process.cpuUsage()
      }
    },
  })
  batch.x.dispose()
  const secs = (stamps[stamps.length - 1] - start) / 1000
  const cpuSecs = (cpuEnd.user + cpuEnd.system - cpuStart.user - cpuStart.system) / 1e6
  return { imgPerSec: (spec.steps * spec.batch) / secs, cpuImgPerSec: (spec.steps * spec.batch) / cpuSecs, bnBatchSize: r.bnBatchSize, rssAfterStepMb: rss, tensorsAfterStep: tensors }
}

async function inferSpeed(model: BNNet, spec: CaseSpec): Promise<{ imgPerSec: number; cpuImgPerSec: number }> {
  const x = tf.randomUniform([spec.batch, spec.imageSize, spec.imageSize, 3], -1, 1, 'float32', 1) as tf.Tensor4D
  const once = async (): Promise<void> => {
    const logits = tf.tidy(() => model.forward(x, 'eval'))
    await logits.data()
    logits.dispose()
  }
  for (let i = 0; i < spec.warmup; i++) await once()
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (let i = 0; i < spec.steps; i++) await once()
  const secs = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  x.dispose()
  return { imgPerSec: (spec.steps * spec.batch) / secs, cpuImgPerSec: (spec.steps * spec.batch) / ((c.user + c.system) / 1e6) }
}

/** tf.profile of one training step; kernels run before the model's forward returned count as forward. */
async function profileStep(model: BNNet, spec: CaseSpec): Promise<ChildResult['profile']> {
  const b = randomBatch(spec.microBatch ?? spec.batch, spec.imageSize)
  const x = b.x as tf.Tensor4D
  const pending: BatchNormUpdate[] = []
  let nForward = 0
  // the same model, with a forward that notes how many kernels the profiler has seen when it returns
  const marked = Object.create(model) as BNNet
  marked.forward = (xi, mode) => {
    const y = model.forward(xi, mode)
    nForward = (tf.engine().state as unknown as { activeProfile: { kernels: unknown[] } }).activeProfile.kernels.length
    return y
  }
  const vars = model.namedParameters().map(([, v]) => v)
  const full = await tf.profile(() => {
    const r = gradientStep(marked, x, b.y, { bn: 'train', statUpdates: pending, variables: vars })
    tf.dispose([r.loss, r.hits, ...Object.values(r.grads)])
  })
  disposeBatchNormUpdates(pending)
  x.dispose()
  const rows = new Map<string, KernelRow>()
  full.kernels.forEach((k, i) => {
    const row = rows.get(k.name) ?? { name: k.name, forwardMs: 0, forwardCount: 0, backwardMs: 0, backwardCount: 0 }
    const ms = Number(k.kernelTimeMs) || 0
    if (i < nForward) {
      row.forwardMs += ms
      row.forwardCount++
    } else {
      row.backwardMs += ms
      row.backwardCount++
    }
    rows.set(k.name, row)
  })
  const kernels = [...rows.values()].sort((a, c) => c.forwardMs + c.backwardMs - (a.forwardMs + a.backwardMs))
  const sum = (f: (r: KernelRow) => number): number => kernels.reduce((s, r) => s + f(r), 0)
  return { totalMs: sum((r) => r.forwardMs + r.backwardMs), forwardMs: sum((r) => r.forwardMs), backwardMs: sum((r) => r.backwardMs), kernels }
}

/** convertBatchNorm over `batches` batches vs one eval pass over the same images. */
async function conversionRatio(model: BNNet, spec: CaseSpec, batches: number): Promise<ChildResult['conversion']> {
  const xs = Array.from({ length: batches }, () => tf.randomUniform([spec.batch, spec.imageSize, spec.imageSize, 3], -1, 1, 'float32', 2) as tf.Tensor4D)
  let t0 = performance.now()
  for (const x of xs) {
    const logits = tf.tidy(() => model.forward(x, 'eval'))
    await logits.data()
    logits.dispose()
  }
  const evalMs = performance.now() - t0
  t0 = performance.now()
  await convertBatchNorm(model, xs)
  const convertMs = performance.now() - t0
  tf.dispose(xs)
  return { images: batches * spec.batch, convertMs, evalMs, ratio: convertMs / evalMs }
}

export async function runChild(spec: CaseSpec): Promise<ChildResult> {
  const backend = await initBackend({ force: spec.backend as BackendName })
  const model = spec.model === 'mobilenetv2' ? await loadPretrained(MOBILENET, 'mobilenetv2') : createModel(spec.model as ArchName, K, { seed: 0 })
  if (model.numClasses !== K) model.replaceHead(K, 'random', 0)
  const out: ChildResult = { device: backend.device, imgPerSec: 0, cpuImgPerSec: 0, peakRssMb: 0, bnBatchSize: null }
  if (spec.mode === 'train') {
    const r = await trainSpeed(model, spec)
    Object.assign(out, r)
    if (spec.profile) out.profile = await profileStep(model, spec)
  } else {
    Object.assign(out, await inferSpeed(model, spec))
    if (spec.conversion) out.conversion = await conversionRatio(model, spec, Math.max(2, spec.steps))
  }
  model.dispose()
  out.peakRssMb = process.resourceUsage().maxRSS / 1024
  return out
}
