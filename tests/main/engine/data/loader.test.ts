import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DIGITS, SHARED_DATA } from '../../../helpers/paths'
import { cacheSize, createLoader, importDataset, type Batch, type Sample } from '../../../../src/main/engine/data'
import type { TransformConfig } from '../../../../src/shared/datasets'
import { makeBadKit, tempDir } from './kit'

const temps: string[] = []
beforeAll(async () => {
  await tf.setBackend('cpu')
})
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

/** Every n-th sample, so all classes occur. */
function subset<T>(xs: T[], n: number): T[] {
  const step = Math.max(1, Math.floor(xs.length / n))
  return xs.filter((_, i) => i % step === 0).slice(0, n)
}

async function collect(it: AsyncIterable<Batch>): Promise<{ x: Float32Array[]; y: number[]; index: number[]; shapes: number[][]; failed: number }> {
  const out = { x: [] as Float32Array[], y: [] as number[], index: [] as number[], shapes: [] as number[][], failed: 0 }
  for await (const b of it) {
    out.shapes.push(b.x.shape)
    out.x.push(b.x.dataSync() as Float32Array)
    b.x.dispose()
    out.y.push(...b.y)
    out.index.push(...b.index)
    out.failed += b.failed.length
  }
  return out
}

const TO_32: TransformConfig = { ops: [{ op: 'resize', size: [32, 32] }], normalize: { preset: 'imagenet' } }
const MEAN = [0.485, 0.456, 0.406]
const STD = [0.229, 0.224, 0.225]

describe('digits come out as 32x32 RGB batches with the right labels', () => {
  for (const [set, split, srcSize, srcChannels] of [
    ['mnist', 'test', 28, 1],
    ['mnist_m', 'train', 32, 3],
    ['usps', 'train', 16, 1],
  ] as const) {
    it(`${set} (${srcSize}x${srcSize}, ${srcChannels} channel)`, async () => {
      const imp = await importDataset(path.join(DIGITS, set), { verify: 'none', valFraction: 0 })
      expect(imp.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
      const samples = subset(imp.splits[split]!, 40)
      const meta = await sharp(samples[0].path).metadata()
      expect([meta.width, meta.channels]).toEqual([srcSize, srcChannels])
      const loader = createLoader({ samples, batchSize: 16, transform: TO_32, seed: 3, workers: 0 })
      const got = await collect(loader)
      await loader.close()
      expect(got.shapes).toEqual([[16, 32, 32, 3], [16, 32, 32, 3], [8, 32, 32, 3]])
      expect(new Set(got.index).size).toBe(40)
      got.index.forEach((i, k) => expect(got.y[k]).toBe(Number(path.basename(path.dirname(samples[i].path)))))
      // pixels: the independent sharp resize of the same file, normalised
      const k = 5
      const ref = await sharp(samples[got.index[k]].path).resize(32, 32, { fit: 'fill', kernel: 'linear' }).toColourspace('srgb').removeAlpha().raw().toBuffer()
      const x = got.x[Math.floor(k / 16)].subarray((k % 16) * 3072, (k % 16 + 1) * 3072)
      let maxErr = 0
      for (let p = 0; p < 3072; p++) maxErr = Math.max(maxErr, Math.abs(x[p] - (ref[p] / 255 - MEAN[p % 3]) / STD[p % 3]))
      expect(maxErr).toBeLessThan(1e-5)
      if (srcChannels === 1) for (let p = 0; p < 3072; p += 3) expect((x[p] * STD[0] + MEAN[0]) * 255).toBeCloseTo((x[p + 1] * STD[1] + MEAN[1]) * 255, 3)
    })
  }
})

describe('createLoader', () => {
  let samples: Sample[]
  const AUG: TransformConfig = {
    ops: [{ op: 'randomCrop', size: 32, padding: 4 }, { op: 'horizontalFlip' }, { op: 'colorJitter', brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.05 }],
    normalize: { preset: 'minus1to1' },
  }
  beforeAll(async () => {
    const imp = await importDataset(path.join(SHARED_DATA, 'cifar10-jpeg'), { verify: 'none', valFraction: 0 })
    samples = subset(imp.splits.train!, 200)
  })

  it('shuffles per epoch (seeded), covers every sample once, and respects dropLast', async () => {
    const a = createLoader({ samples, batchSize: 64, transform: AUG, seed: 1, workers: 0, dropLast: true })
    const e0 = await collect(a.epoch(0))
    const e0again = await collect(a.epoch(0))
    const e1 = await collect(a.epoch(1))
    await a.close()
    expect(a.numBatches).toBe(3)
    expect(e0.shapes).toEqual([[64, 32, 32, 3], [64, 32, 32, 3], [64, 32, 32, 3]])
    expect(e0.index).toEqual(e0again.index)
    expect(e0.x).toEqual(e0again.x)
    expect(e1.index).not.toEqual(e0.index)
    const b = createLoader({ samples, batchSize: 64, transform: AUG, seed: 1, workers: 0, shuffle: false })
    const all = await collect(b)
    await b.close()
    expect(all.index).toEqual(samples.map((_, i) => i))
    expect(all.shapes.at(-1)).toEqual([8, 32, 32, 3])
    let maxAbs = 0
    for (const t of all.x) for (const v of t) maxAbs = Math.max(maxAbs, Math.abs(v))
    expect(maxAbs).toBeLessThanOrEqual(1 + 1e-6)
    expect(maxAbs).toBeGreaterThan(0.9)
  })

  it('worker threads give exactly the in-thread batches, and the disk cache serves later epochs', async () => {
    const cacheDir = tempDir('daft-cache-')
    temps.push(cacheDir)
    const few = samples.slice(0, 100)
    const inThread = createLoader({ samples: few, batchSize: 25, transform: AUG, seed: 9, workers: 0 })
    const ref = await collect(inThread.epoch(2))
    await inThread.close()

    const workers = createLoader({ samples: few, batchSize: 25, transform: AUG, seed: 9, workers: 2, cacheDir })
    expect(await workers.ready()).toBe('workers')
    const cold = await collect(workers.epoch(2))
    expect(workers.stats()).toMatchObject({ mode: 'workers', workers: 2, cacheMisses: 100, cacheHits: 0, images: 100 })
    expect(cacheSize(cacheDir)).toEqual({ files: 100, bytes: 100 * (16 + 32 * 32 * 3) })
    const warm = await collect(workers.epoch(2))
    expect(workers.stats()).toMatchObject({ cacheMisses: 100, cacheHits: 100 })
    await workers.close()
    expect(cold.index).toEqual(ref.index)
    expect(cold.x).toEqual(ref.x)
    expect(warm.x).toEqual(ref.x)
  })

  it('a cache entry is keyed by the transform prefix and the file mtime', async () => {
    const root = tempDir('daft-mtime-')
    const cacheDir = tempDir('daft-cache-')
    temps.push(root, cacheDir)
    const file = path.join(root, 'c', 'x.png')
    fs.mkdirSync(path.dirname(file))
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toFile(file)
    const run = async (size: number): Promise<Float32Array> => {
      const l = createLoader({ samples: [{ path: file, label: 0 }], batchSize: 1, workers: 0, cacheDir, transform: { ops: [{ op: 'resize', size: [size, size] }], normalize: { preset: 'unit' } } })
      const r = await collect(l)
      await l.close()
      return r.x[0]
    }
    expect((await run(4))[0]).toBeCloseTo(10 / 255, 6)
    expect((await run(6)).length).toBe(6 * 6 * 3)
    expect(cacheSize(cacheDir).files).toBe(2)
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 20, b: 30 } } }).png().toFile(file)
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000))
    expect((await run(4))[0]).toBeCloseTo(200 / 255, 6)
  })

  it('bad files are left out of batches and reported; nothing crashes', async () => {
    const kit = await makeBadKit()
    temps.push(kit.root)
    const fileSamples: Sample[] = Object.keys(kit.expected)
      .filter((p) => !p.endsWith('empty') && !p.endsWith('again'))
      .map((p) => ({ path: p, label: 1, className: 'x' }))
    fileSamples.push({ path: path.join(kit.root, 'a', 'good0.png'), label: 0, className: 'a' })
    for (const workers of [0, 1]) {
      const l = createLoader({ samples: fileSamples, batchSize: 4, workers, transform: TO_32, pixelLimit: 50_000_000 })
      const r = await collect(l)
      const failures = l.failures()
      await l.close()
      expect(r.y).toEqual([0])
      expect(r.shapes).toEqual([[1, 32, 32, 3]])
      expect(Object.fromEntries(failures.map((f) => [f.path, f.reason]))).toEqual(
        Object.fromEntries(fileSamples.slice(0, -1).map((s) => [s.path, kit.expected[s.path]])),
      )
    }
  })

  it('rejects a bad transform naming the problem', () => {
    expect(() => createLoader({ samples, batchSize: 4, transform: { ops: [{ op: 'resize', size: -3 }], normalize: { preset: 'imagenet' } } })).toThrow(/ops\[0\].*size/)
    expect(() => createLoader({ samples, batchSize: 4, transform: { ops: [], normalize: { preset: 'custom', mean: [0, 0, 0], std: [1, 0, 1] } } })).toThrow(/std must be > 0/)
  })
})
