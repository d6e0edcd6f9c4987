/**
 * One epoch of FT at 224 px on a fixed folder, end to end: decode (cold cache), augment, train, evaluate.
 *
 *   npm run bench:experiment [-- --images 256 --eval 128 --batch 32 --model PATH --workers N --warm]
 *
 * Defaults: MobileNetV2 (the TF.js layers model in /work/shared/data/models/mobilenetv2-tm, head replaced by a
 * 10-class one), 256 training images of /work/shared/data/cifar10-jpeg/train (the same fixed, class-balanced pick every
 * run) resized to 224 with a horizontal flip, and 128 test images for the evaluation, batch 32, BN in train mode.
 * Prints training images/s, evaluation images/s, the whole epoch's wall time, and the share of it spent waiting for
 * data (the loaders' wait time / wall time), with the load average (figures taken on a loaded machine are not
 * comparable). --warm runs a first, unmeasured epoch (cache warm, kernels compiled) and times the second.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { initBackend } from '../src/main/engine/backend'
import { createLoader, importDataset } from '../src/main/engine/data'
import { loadPretrained } from '../src/main/engine/models'
import { trainRun, type EpochEvent } from '../src/main/engine/train/loop'
import type { TransformConfig } from '../src/shared/datasets'
import { defaultRecipe } from '../src/shared/recipes'

const argv = process.argv.slice(2)
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback
}
const here = path.dirname(new URL(import.meta.url).pathname)
const CIFAR = path.resolve(here, '..', '..', 'shared', 'data', 'cifar10-jpeg')
const MODEL = opt('model', path.resolve(here, '..', '..', 'shared', 'data', 'models', 'mobilenetv2-tm'))
const nTrain = Number(opt('images', '256'))
const nEval = Number(opt('eval', '128'))
const batch = Number(opt('batch', '32'))
const warm = argv.includes('--warm')
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ')

/** `n` samples spread over the classes: round-robin over the labels, in file order within each */
function balanced<T extends { label: number }>(samples: readonly T[], n: number): T[] {
  const byLabel = new Map<number, T[]>()
  for (const s of samples) byLabel.set(s.label, [...(byLabel.get(s.label) ?? []), s])
  const lists = [...byLabel.keys()].sort((a, b) => a - b).map((k) => byLabel.get(k)!)
  const out: T[] = []
  for (let i = 0; out.length < n && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length && out.length < n) out.push(l[i])
  return out
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'daft-bench-experiment-'))
  try {
    console.log(`machine: ${os.cpus().length} cores, load average at start ${load()}`)
    const backend = await initBackend()
    console.log(`backend: ${backend.name}, device: ${backend.device}`)
    const imp = await importDataset(CIFAR, { verify: 'none' })
    const train = balanced(imp.splits.train!, nTrain)
    const test = balanced(imp.splits.test ?? imp.splits.val!, nEval)
    const normalize = { preset: 'minus1to1' as const }
    const trainTf: TransformConfig = { ops: [{ op: 'resize', size: [224, 224] }, { op: 'horizontalFlip' }], normalize }
    const evalTf: TransformConfig = { ops: [{ op: 'resize', size: [224, 224] }], normalize }
    const workers = argv.includes('--workers') ? Number(opt('workers', '1')) : undefined
    const trainLoader = createLoader({ samples: train, batchSize: batch, transform: trainTf, workers, cacheDir: path.join(tmp, 'cache'), seed: 0 })
    const evalLoader = createLoader({ samples: test, batchSize: batch, transform: evalTf, workers, cacheDir: path.join(tmp, 'cache'), seed: 0, shuffle: false })
    const model = await loadPretrained(MODEL)
    model.replaceHead(10, 'zero', 0)
    const recipe = { ...defaultRecipe('FT'), epochs: warm ? 2 : 1, batchSize: batch, earlyStopping: false, bnMode: 'train' as const }
    const waits = (): number => trainLoader.stats().waitMs + evalLoader.stats().waitMs
    interface Timed {
      ev: EpochEvent
      wallMs: number
      trainMs: number
      waitMs: number
    }
    const epochs: Timed[] = []
    const t0 = performance.now()
    let mark = { t: t0, wait: 0 }
    let trainEnd = t0
    await trainRun({
      model, recipe, seed: 0,
      trainBatches: (ep) => trainLoader.epoch(ep),
      batchesPerEpoch: trainLoader.numBatches,
      evalSets: [{ name: 'cifar10 test', role: 'id-val', batches: () => evalLoader.epoch(0) }],
      onProgress: (ev) => {
        if (ev.batch === trainLoader.numBatches - 1) trainEnd = performance.now()
      },
      onEpoch: (ev) => {
        const now = performance.now()
        const wait = waits()
        epochs.push({ ev, wallMs: now - mark.t, trainMs: trainEnd - mark.t, waitMs: wait - mark.wait })
        mark = { t: now, wait }
      },
    })
    const { ev: e, wallMs, trainMs, waitMs } = epochs[epochs.length - 1]
    const evalMs = wallMs - trainMs
    const trainStats = trainLoader.stats()
    await Promise.all([trainLoader.close(), evalLoader.close()])
    model.dispose()
    console.log(`MobileNetV2 FT @224, batch ${batch}, ${nTrain} training + ${nEval} test images of cifar10-jpeg, loader ${trainStats.mode} (${trainStats.workers} workers), ${warm ? 'second epoch (warm cache)' : 'first epoch (cold cache: decode included)'}:`)
    console.log(`  training: ${(nTrain / (trainMs / 1000)).toFixed(1)} img/s (the loop's own figure: ${e.imagesPerSec.toFixed(1)} img/s)`)
    console.log(`  evaluation: ${(nEval / (evalMs / 1000)).toFixed(1)} img/s over ${nEval} images`)
    console.log(`  epoch wall time ${(wallMs / 1000).toFixed(1)} s (train ${(trainMs / 1000).toFixed(1)} s + evaluate ${(evalMs / 1000).toFixed(1)} s); waiting for data ${(waitMs / 1000).toFixed(2)} s = ${((100 * waitMs) / wallMs).toFixed(1)} % of it`)
    console.log(`  test accuracy after the epoch: ${e.idValAccuracy == null ? '-' : (100 * e.idValAccuracy).toFixed(1)} %; train loss ${e.trainLoss?.toFixed(3) ?? '-'}`)
    console.log(`load average at end: ${load()} (total ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e)
  process.exitCode = 1
})
