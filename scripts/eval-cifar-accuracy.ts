/**
 * Top-1 accuracy of a pretrained CIFAR ResNet on an ImageFolder of CIFAR-10 images (default:
 * ../shared/data/cifar10-jpeg/test), eval mode, ImageNet normalisation.
 * Usage: npx tsx scripts/eval-cifar-accuracy.ts [checkpoint] [folder] [batchSize]
 */
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/engine/backend'
import { loadPretrained } from '../src/main/engine/models'

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
const MEAN = [0.485, 0.456, 0.406]
const STD = [0.229, 0.224, 0.225]

const data = resolve(import.meta.dirname, '..', '..', 'shared', 'data')
const ckpt = process.argv[2] ?? join(data, 'models', 'cifar-resnet', 'resnet20-12fca82f.th')
const root = process.argv[3] ?? join(data, 'cifar10-jpeg', 'test')
const bs = Number(process.argv[4] ?? 500)

const t0 = Date.now()
const info = await initBackend()
const net = await loadPretrained(ckpt)
const items: [string, number][] = []
for (const dir of readdirSync(root).sort()) {
  const label = CLASSES.indexOf(dir)
  if (label < 0) throw new Error(`${root}: unknown class folder ${dir}`)
  for (const f of readdirSync(join(root, dir)).sort()) items.push([join(root, dir, f), label])
}
let correct = 0
for (let s = 0; s < items.length; s += bs) {
  const chunk = items.slice(s, s + bs)
  const buf = new Float32Array(chunk.length * 32 * 32 * 3)
  await Promise.all(chunk.map(async ([f], i) => {
    const { data: px, info: inf } = await sharp(f).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
    if (inf.width !== 32 || inf.height !== 32 || inf.channels !== 3) throw new Error(`${f}: expected 32x32 RGB`)
    for (let j = 0; j < px.length; j++) buf[i * 3072 + j] = (px[j] / 255 - MEAN[j % 3]) / STD[j % 3]
  }))
  const x = tf.tensor4d(buf, [chunk.length, 32, 32, 3])
  const logits = net.forward(x, 'eval')
  const pred = logits.argMax(1)
  const p = pred.dataSync()
  chunk.forEach(([, l], i) => { if (p[i] === l) correct++ })
  tf.dispose([x, logits, pred])
}
net.dispose()
console.log(`${net.arch} on ${root}: ${correct}/${items.length} = ${(100 * correct / items.length).toFixed(2)} % (backend ${info.name}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`)
