import { beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import sharp from 'sharp'
import { loadPretrained, type BNNet } from '../../../../src/main/engine/models'
import { convertBatchNorm } from '../../../../src/main/engine/methods/convertBatchNorm'
import { CIFAR_RESNET, ROOT, SHARED_DATA } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'
import { CIFAR_CLASSES, listImages, loadBatch } from '../models/images'
import { AUGMENTED_BIN, augmentedBatches, toUint8 } from '../../../../scripts/ref/augmented-batches'

interface Fixture {
  images: string[]
  logits_before: number[]
  cases: Record<string, { batch_sizes: number[]; layers: Record<string, Record<'weight' | 'bias' | 'running_mean' | 'running_var', number[]>> }>
}
const fixture: Fixture = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'bn-conversion', 'resnet20_mnistm.json'), 'utf8'))
const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')
const MNISTM = join(SHARED_DATA, 'digits', 'mnist_m', 'train')

const relErr = (ours: ArrayLike<number>, ref: ArrayLike<number>): number => {
  expect(ours.length).toBe(ref.length)
  let d = 0
  let m = 0
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ours[i] - ref[i]))
    m = Math.max(m, Math.abs(ref[i]))
  }
  return d / m
}

function* split(x: tf.Tensor4D, sizes: number[]): Generator<tf.Tensor4D> {
  let start = 0
  for (const s of sizes) {
    yield x.slice([start, 0, 0, 0], [s, -1, -1, -1])
    start += s
  }
}

describe('convertBatchNorm (DAFT Algorithm 1)', () => {
  let images: tf.Tensor4D
  beforeAll(async () => {
    await useBackend('wasm')
    const b = await loadBatch(fixture.images.map((f) => join(MNISTM, f)))
    images = tf.tensor4d(b.data, b.shape)
  })

  it('eval logits before conversion match PyTorch', async () => {
    const net = await loadPretrained(RESNET20)
    const y = net.forward(images, 'eval')
    expect(relErr(y.dataSync(), fixture.logits_before)).toBeLessThan(1e-5)
    y.dispose()
    net.dispose()
  })

  /** the fixture's batches: the plain images split as given, or the augmented pipeline's batches made by our loader */
  async function* batchesOf(name: string, sizes: number[]): AsyncGenerator<tf.Tensor4D> {
    if (name !== 'augmented') {
      yield* split(images, sizes)
      return
    }
    const { batches } = await augmentedBatches(fixture.images, { preset: 'imagenet' })
    for (const [i, b] of batches.entries()) yield tf.tensor4d(b, [sizes[i], 32, 32, 3])
  }

  it("the augmented case's pixels are what the project's training loader makes (same crops, flips and order)", async () => {
    const { batches, sizes } = await augmentedBatches(fixture.images)
    expect(sizes).toEqual(fixture.cases.augmented.batch_sizes)
    const ours = toUint8(batches)
    const stored = new Uint8Array(readFileSync(AUGMENTED_BIN))
    expect(ours.length).toBe(stored.length)
    expect(Buffer.from(ours).equals(Buffer.from(stored))).toBe(true)
  })

  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`matches the PyTorch reference per tensor (${name}: batches ${c.batch_sizes.join(', ')})`, async () => {
      const net = await loadPretrained(RESNET20)
      const before = new Map(net.bnLayers().map((l) => [l.name, Array.from(l.bn.runningMean.dataSync())]))
      const res = await convertBatchNorm(net, batchesOf(name, c.batch_sizes), { disposeBatches: true })
      expect(res.batches).toBe(c.batch_sizes.length)
      expect(res.samples).toBe(50)
      expect(res.layers.map((l) => l.name)).toEqual(Object.keys(c.layers))
      const sd = net.stateDict()
      let worst = 0
      for (const [layer, ref] of Object.entries(c.layers)) {
        for (const key of ['weight', 'bias', 'running_mean', 'running_var'] as const) {
          const e = relErr(sd.get(`${layer}.${key}`)!.data, ref[key])
          worst = Math.max(worst, e)
          expect(e, `${layer}.${key}`).toBeLessThan(1e-5)
        }
      }
      // the returned statistics are the source and the new running stats
      const l0 = res.layers.find((l) => l.name === 'layer2.0.bn1')!
      expect(l0.stage).toBe('stage 2')
      expect(Array.from(l0.Ms)).toEqual(before.get('layer2.0.bn1'))
      expect(Array.from(l0.Mt)).toEqual(Array.from(sd.get('layer2.0.bn1.running_mean')!.data))
      expect(Array.from(l0.St)).toEqual(Array.from(sd.get('layer2.0.bn1.running_var')!.data))
      console.log(`convertBatchNorm parity (${name}): worst max|ours-ref|/max|ref| = ${worst.toExponential(2)}`)
      net.dispose()
    })
  }

  it('unequal batching differs from one batch (each batch uses its own m), and augmentation moves the statistics: the cases really test it', () => {
    const a = fixture.cases.one_batch.layers['layer3.2.bn2'].running_var
    const b = fixture.cases.unequal.layers['layer3.2.bn2'].running_var
    expect(relErr(a, b)).toBeGreaterThan(1e-4)
    const plain = fixture.cases.one_batch.layers['bn1'].running_mean
    const aug = fixture.cases.augmented.layers['bn1'].running_mean
    expect(relErr(aug, plain)).toBeGreaterThan(1e-2)
  })

  it('leaves eval-mode logits and features unchanged on real images (max rel. error < 1e-4), async batches, no leaks', async () => {
    const net: BNNet = await loadPretrained(RESNET20)
    const items = listImages(join(SHARED_DATA, 'cifar10-png-samples', 'test'), CIFAR_CLASSES)
    const b = await loadBatch(items.map(([f]) => f))
    const x = tf.tensor4d(b.data, b.shape)
    const f0 = net.features(x, 'eval')
    const y0 = net.forward(x, 'eval')
    const n0 = tf.memory().numTensors
    async function* batches(): AsyncGenerator<tf.Tensor4D> {
      for (let s = 0; s < 50; s += 20) yield images.slice([s, 0, 0, 0], [Math.min(20, 50 - s), -1, -1, -1])
    }
    const progress: number[] = []
    const res = await convertBatchNorm(net, batches(), { disposeBatches: true, onProgress: (_, n) => progress.push(n) })
    expect(progress).toEqual([20, 40, 50])
    expect(tf.memory().numTensors).toBe(n0)
    // conversion did change the BN parameters substantially ...
    const l = res.layers[res.layers.length - 1]
    expect(relErr(l.Mt, l.Ms)).toBeGreaterThan(0.05)
    // ... but not the function the network computes in eval mode
    const f1 = net.features(x, 'eval')
    const y1 = net.forward(x, 'eval')
    const ef = relErr(f1.dataSync(), f0.dataSync())
    const ey = relErr(y1.dataSync(), y0.dataSync())
    console.log(`convertBatchNorm invariance: features ${ef.toExponential(2)}, logits ${ey.toExponential(2)}`)
    expect(ef).toBeLessThan(1e-4)
    expect(ey).toBeLessThan(1e-4)
    tf.dispose([x, f0, y0, f1, y1])
    net.dispose()
  })

  it('MobileNetV2 (eps 1e-3, depthwise convs): conversion on real images keeps eval logits and features', async () => {
    const net = await loadPretrained(join(SHARED_DATA, 'models', 'mobilenetv2-tm'))
    const files = listImages(join(SHARED_DATA, 'cifar10-png-samples', 'test'), CIFAR_CLASSES).map(([f]) => f)
    const buf = new Float32Array(files.length * 224 * 224 * 3)
    for (const [i, f] of files.entries()) {
      const px = await sharp(f).removeAlpha().toColourspace('srgb').resize(224, 224).raw().toBuffer()
      for (let j = 0; j < px.length; j++) buf[i * px.length + j] = px[j] / 127.5 - 1
    }
    const x = tf.tensor4d(buf, [files.length, 224, 224, 3])
    const probe = x.slice([0, 0, 0, 0], [4, -1, -1, -1])
    const f0 = net.features(probe, 'eval')
    const y0 = net.forward(probe, 'eval')
    const res = await convertBatchNorm(net, split(x, [10, 10]), { disposeBatches: true })
    expect(res.layers.length).toBe(52)
    const moved = res.layers.find((l) => l.name === 'block_16_project_BN')!
    expect(relErr(moved.St, moved.Ss)).toBeGreaterThan(0.01)
    const f1 = net.features(probe, 'eval')
    const y1 = net.forward(probe, 'eval')
    const ef = relErr(f1.dataSync(), f0.dataSync())
    const ey = relErr(y1.dataSync(), y0.dataSync())
    console.log(`convertBatchNorm invariance (mobilenetv2): features ${ef.toExponential(2)}, logits ${ey.toExponential(2)}`)
    expect(ef).toBeLessThan(1e-4)
    expect(ey).toBeLessThan(1e-4)
    tf.dispose([x, probe, f0, y0, f1, y1])
    net.dispose()
  })

  it('rejects empty data', async () => {
    const net = await loadPretrained(RESNET20)
    await expect(convertBatchNorm(net, [])).rejects.toThrow(/no batches/)
    net.dispose()
  })
})
