/**
 * The augmented training batches the BN-conversion parity fixture uses, made by the project's own loader
 * exactly as a run makes them for DAFT's conversion (runJob: the training pipeline's pass "epoch -1"):
 * the fixture's 50 MNIST-M images, resize 32 + RandomCrop(32, padding 4) + horizontal flip, shuffled,
 * seed 0, batch 16. Writes the pixels BEFORE normalisation as uint8 (crop padding and flips keep them
 * exact) so PyTorch can normalise them as it does the plain images:
 *   npx tsx scripts/ref/augmented-batches.ts   (then /usr/bin/python3 scripts/ref/bn_conversion_fixture.py)
 * tests/main/engine/methods/convertBatchNorm.test.ts regenerates the batches and checks they are the same.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLoader } from '../../src/main/engine/data/loader'
import type { TransformConfig } from '../../src/shared/datasets'

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..')
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'bn-conversion')
export const MNISTM_TRAIN = join(ROOT, '..', 'shared', 'data', 'digits', 'mnist_m', 'train')
export const AUGMENTED_BIN = join(FIXTURES, 'resnet20_mnistm_augmented.u8')
/** the pipeline of the fixture's augmented case ('unit' keeps pixels / 255 so they round back to uint8) */
export const AUGMENTED_PIPELINE = { seed: 0, epoch: -1, batchSize: 16, ops: [{ op: 'resize', size: [32, 32] }, { op: 'randomCrop', size: 32, padding: 4 }, { op: 'horizontalFlip' }] } as const

/** Uint8 NHWC pixels of every augmented batch, in order, and the batch sizes. */
export async function augmentedBatches(images: string[], normalize: TransformConfig['normalize'] = { preset: 'unit' }): Promise<{ batches: Float32Array[]; sizes: number[] }> {
  const samples = images.map((f) => ({ path: join(MNISTM_TRAIN, f), label: Number(f.split('/')[0]) }))
  const p = AUGMENTED_PIPELINE
  const loader = createLoader({ samples, batchSize: p.batchSize, shuffle: true, seed: p.seed, transform: { ops: [...p.ops] as TransformConfig['ops'], normalize }, workers: 0 })
  const batches: Float32Array[] = []
  const sizes: number[] = []
  for await (const b of loader.epoch(p.epoch)) {
    batches.push(Float32Array.from(b.x.dataSync()))
    sizes.push(b.y.length)
    b.x.dispose()
  }
  await loader.close()
  return { batches, sizes }
}

export function toUint8(batches: Float32Array[]): Uint8Array {
  const out = new Uint8Array(batches.reduce((s, b) => s + b.length, 0))
  let o = 0
  for (const b of batches) for (let i = 0; i < b.length; i++) out[o++] = Math.round(b[i] * 255)
  return out
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, 'resnet20_mnistm.json'), 'utf8')) as { images: string[] }
  const { batches, sizes } = await augmentedBatches(fixture.images)
  const u8 = toUint8(batches)
  writeFileSync(AUGMENTED_BIN, u8)
  writeFileSync(`${AUGMENTED_BIN}.json`, JSON.stringify({ sizes, shape: 'NHWC uint8, 32x32x3', pipeline: AUGMENTED_PIPELINE }) + '\n')
  console.error(`wrote ${AUGMENTED_BIN} (${u8.length} bytes, batches ${sizes.join(', ')})`)
}
