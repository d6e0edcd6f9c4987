/**
 * Analysis benchmark / calibration: `tsx scripts/bench-analysis.ts [--per-set N] [--batch B] [--skip-corruptions]`.
 * 1. Domain-shift scores of resnet20 (CIFAR-10 pretrained) on cifar10-jpeg/test (near) and the digit sets
 *    (far), from targetStatistics (eval-mode pass, model unchanged): the numbers behind DEFAULT_SHIFT_THRESHOLDS.
 *    Every image resized to 32x32, ImageNet mean/std, sequential (unshuffled) batches; N images per set
 *    (default: all) spread over all classes.
 * 2. Corruption cost: ms per 32x32 image per corruption (100 CIFAR test images x 5 severities).
 */
import path from 'node:path'
import { readdirSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import sharp from 'sharp'
import { createLoader } from '../src/main/engine/data'
import { loadPretrained } from '../src/main/engine/models'
import { domainShift, targetStatistics } from '../src/main/engine/analysis/domainShift'
import { CORRUPTIONS, corrupt } from '../src/main/engine/analysis/corruptions'

const DATA = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'data')
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}
const perSet = arg('--per-set', Infinity)
const batchSize = arg('--batch', 128)

function samplesOf(root: string, classes: string[], n: number): { path: string; label: number }[] {
  const perClass = classes.map((c) => readdirSync(path.join(root, c)).sort().map((f) => path.join(root, c, f)))
  const out: { path: string; label: number }[] = []
  // round robin over classes so any prefix covers every class
  for (let i = 0; out.length < n && perClass.some((l) => i < l.length); i++) {
    perClass.forEach((l, label) => {
      if (i < l.length && out.length < n) out.push({ path: l[i], label })
    })
  }
  return out
}

async function main(): Promise<void> {
  await tf.setBackend('wasm')
  await tf.ready()
  const net = await loadPretrained(path.join(DATA, 'models', 'cifar-resnet', 'resnet20-12fca82f.th'))
  const cifar = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
  const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
  const sets: [string, string, string[]][] = [
    ['cifar10-jpeg/test', path.join(DATA, 'cifar10-jpeg', 'test'), cifar],
    ['cifar10-jpeg/train', path.join(DATA, 'cifar10-jpeg', 'train'), cifar],
    ['digits/mnist_m/test', path.join(DATA, 'digits', 'mnist_m', 'test'), digits],
    ['digits/usps/test', path.join(DATA, 'digits', 'usps', 'test'), digits],
    ['digits/mnist/test', path.join(DATA, 'digits', 'mnist', 'test'), digits],
  ]
  console.log(`domain shift, resnet20, batch ${batchSize}, ${Number.isFinite(perSet) ? perSet : 'all'} images per set`)
  console.log('set                    images  meanShift  varShift  combined  verdict   (combined per stage)')
  for (const [name, root, classes] of sets) {
    const samples = samplesOf(root, classes, perSet)
    const loader = createLoader({ samples, batchSize, shuffle: false, workers: 1, transform: { ops: [{ op: 'resize', size: [32, 32] }], normalize: { preset: 'imagenet' } } })
    const t = performance.now()
    const stats = await targetStatistics(net, loader, { disposeBatches: true })
    await loader.close()
    const r = domainShift(stats.layers)
    const stages = new Map<string, number[]>()
    for (const l of r.layers) stages.set(l.stage, [...(stages.get(l.stage) ?? []), l.combined])
    const perStage = [...stages].map(([s, v]) => `${s} ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)}`).join(', ')
    console.log(
      `${name.padEnd(22)} ${String(stats.samples).padStart(6)}  ${r.meanShift.toFixed(4).padStart(9)}  ${r.varShift.toFixed(4).padStart(8)}  ${r.combined.toFixed(4).padStart(8)}  ${r.verdict.padEnd(8)}  (${perStage})  ${((performance.now() - t) / 1000).toFixed(1)} s`,
    )
  }
  net.dispose()

  if (process.argv.includes('--skip-corruptions')) return
  const root = path.join(DATA, 'cifar10-jpeg', 'test')
  const files = samplesOf(root, cifar, 100).map((s) => s.path)
  const imgs = await Promise.all(
    files.map(async (f) => {
      const { data, info } = await sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true })
      return { data: new Uint8Array(data), width: info.width, height: info.height }
    }),
  )
  console.log('\ncorruptions on 100 CIFAR test images: mean |corrupted - original| per severity (0..255), ms per image')
  for (const c of CORRUPTIONS) {
    const t = performance.now()
    const d: string[] = []
    for (let s = 1; s <= 5; s++) {
      let sum = 0
      for (const [k, im] of imgs.entries()) {
        const o = await corrupt(im, c, s, [0, k])
        for (let i = 0; i < o.data.length; i++) sum += Math.abs(o.data[i] - im.data[i])
      }
      d.push((sum / (imgs.length * imgs[0].data.length)).toFixed(2))
    }
    console.log(`${c.padEnd(18)} ${d.join(' ')}   ${((performance.now() - t) / (5 * imgs.length)).toFixed(2)} ms`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
