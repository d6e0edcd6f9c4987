/**
 * Data pipeline benchmark: `tsx scripts/bench-data.ts [--quick]`.
 * 1. index time for 50,000 files (generated: tiny placeholder .png files in 10 class folders in a temp dir;
 *    indexing reads names + stat only) and header-verified import of cifar10-jpeg (20,000 real JPEGs);
 * 2. decode throughput, cold (empty cache) vs cached, on real CIFAR JPEGs;
 * 3. loader throughput (img/s, batches as tfjs tensors) for the CIFAR-32 recipe and a 224x224 recipe.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { createLoader, importDataset, indexImageFolder } from '../src/main/engine/data'
import type { TransformConfig } from '../src/shared/datasets'

const quick = process.argv.includes('--quick')
const CIFAR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'data', 'cifar10-jpeg')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'daft-bench-data-'))
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000)} img/s`

async function epochs(samples: { path: string; label: number }[], transform: TransformConfig, workers: number, cacheDir: string | null, n: number, batchSize = 128) {
  const loader = createLoader({ samples, batchSize, transform, workers, cacheDir, seed: 1 })
  const t0 = performance.now()
  const mode = await loader.ready()
  const startMs = performance.now() - t0
  const times: number[] = []
  for (let e = 0; e < n; e++) {
    const t = performance.now()
    for await (const b of loader.epoch(e)) b.x.dispose()
    times.push(performance.now() - t)
  }
  const stats = loader.stats()
  await loader.close()
  return { mode, startMs, times, stats }
}

async function main(): Promise<void> {
  await tf.setBackend('cpu')
  console.log(`machine: ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)

  // 1. indexing
  const nFiles = quick ? 10_000 : 50_000
  const gen = path.join(tmp, 'index50k')
  for (let c = 0; c < 10; c++) {
    const dir = path.join(gen, `class${c}`)
    fs.mkdirSync(dir, { recursive: true })
    for (let i = 0; i < nFiles / 10; i++) fs.writeFileSync(path.join(dir, `${String(i).padStart(5, '0')}.png`), 'x')
  }
  let t = performance.now()
  const idx = indexImageFolder(gen)
  console.log(`index ${idx.files.length} generated files (names + stat): ${(performance.now() - t).toFixed(0)} ms`)
  t = performance.now()
  const imp = await importDataset(CIFAR, { verify: 'none' })
  console.log(`import cifar10-jpeg, verify none (${imp.report.splits.train.total + imp.report.splits.val.total + imp.report.splits.test.total} files): ${(performance.now() - t).toFixed(0)} ms`)
  t = performance.now()
  await importDataset(CIFAR, { verify: 'header' })
  console.log(`import cifar10-jpeg, verify header (sharp metadata of 20,000 JPEGs): ${(performance.now() - t).toFixed(0)} ms`)

  // 2. decode cold vs cached (no augmentation: decode + normalise)
  const n = quick ? 1000 : 4000
  const samples = imp.splits.train!.slice(0, n)
  const plain: TransformConfig = { ops: [{ op: 'resize', size: [32, 32] }], normalize: { preset: 'imagenet' } }
  for (const workers of [0, 2]) {
    const cache = path.join(tmp, `cache-w${workers}`)
    const r = await epochs(samples, plain, workers, cache, 2)
    console.log(
      `decode ${n} CIFAR JPEGs, ${r.mode} (${workers} workers, start ${r.startMs.toFixed(0)} ms): cold ${rate(n, r.times[0])}, cached ${rate(n, r.times[1])}` +
        ` (hits ${r.stats.cacheHits}, misses ${r.stats.cacheMisses})`,
    )
  }

  // 3. loader throughput with augmentation, cached
  const cifarAug: TransformConfig = { ops: [{ op: 'randomCrop', size: 32, padding: 4 }, { op: 'horizontalFlip' }], normalize: { preset: 'imagenet' } }
  for (const workers of [0, 2]) {
    const r = await epochs(samples, cifarAug, workers, path.join(tmp, `cache-aug-w${workers}`), 2)
    console.log(`loader CIFAR-32 RandomCrop(4)+flip, batch 128, ${r.mode}: epoch 1 (cold) ${rate(n, r.times[0])}, epoch 2 (cached) ${rate(n, r.times[1])}, consumer waited ${r.stats.waitMs.toFixed(0)} ms`)
  }
  const n224 = quick ? 128 : 512
  const big: TransformConfig = { ops: [{ op: 'randomResizedCrop', size: 224 }, { op: 'horizontalFlip' }, { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4 }], normalize: { preset: 'imagenet' } }
  const paper224: TransformConfig = { ops: [{ op: 'resize', size: [224, 224] }, { op: 'horizontalFlip' }], normalize: { preset: 'imagenet' } }
  for (const [name, tr] of [['Resize(224)+flip (paper CIFAR recipe)', paper224], ['RandomResizedCrop(224)+flip+jitter', big]] as const) {
    for (const workers of [0, 2]) {
      const r = await epochs(samples.slice(0, n224), tr, workers, path.join(tmp, `cache-224-${name.length}-w${workers}`), 2, 32)
      console.log(`loader ${name}, batch 32, ${r.mode}: cold ${rate(n224, r.times[0])}, cached ${rate(n224, r.times[1])}`)
    }
  }

  // 4. is the loader ever the bottleneck? one real resnet20 training epoch (batch 64) fed by the loader
  const { initBackend } = await import('../src/main/engine/backend')
  const { createModel } = await import('../src/main/engine/models')
  const { trainRun } = await import('../src/main/engine/train/loop')
  const { defaultRecipe } = await import('../src/shared/recipes')
  const backend = await initBackend()
  const nTrain = quick ? 256 : 640
  const model = createModel('resnet20', 10, { seed: 0 })
  for (const workers of [0, 1]) {
    const loader = createLoader({ samples: samples.slice(0, nTrain), batchSize: 64, seed: 0, transform: cifarAug, workers, cacheDir: path.join(tmp, `cache-train-w${workers}`) })
    let ips = 0
    const t0 = performance.now()
    await trainRun({ model, recipe: { ...defaultRecipe('FT'), epochs: 1, earlyStopping: false }, seed: 0, trainBatches: (e) => loader.epoch(e), evalSets: [], onEpoch: (e) => (ips = e.imagesPerSec) })
    const totalMs = performance.now() - t0
    const st = loader.stats()
    await loader.close()
    console.log(
      `resnet20 training epoch (${backend.name}, batch 64, ${nTrain} images, loader ${st.mode}): ${ips.toFixed(1)} img/s; the training loop waited ${st.waitMs.toFixed(0)} ms of ${totalMs.toFixed(0)} ms for batches (${((100 * st.waitMs) / totalMs).toFixed(1)} %, cold cache)`,
    )
  }
  model.dispose()
}

main()
  .catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }))
