/** Test helper: small class-balanced batches of the real sets, resized to 32x32 and normalised for resnet20. */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { createLoader } from '../../../../src/main/engine/data'

export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

export function balancedSamples(root: string, classes: string[], perClass: number): { path: string; label: number }[] {
  return classes.flatMap((c, label) => readdirSync(join(root, c)).sort().slice(0, perClass).map((f) => ({ path: join(root, c, f), label })))
}

/** All batches in memory (the caller disposes them). */
export async function loadBatches(root: string, classes: string[], perClass: number, batchSize: number): Promise<{ x: tf.Tensor4D; y: Int32Array; index: Int32Array }[]> {
  const loader = createLoader({
    samples: balancedSamples(root, classes, perClass),
    batchSize,
    shuffle: true,
    seed: 5,
    workers: 0,
    transform: { ops: [{ op: 'resize', size: [32, 32] }], normalize: { preset: 'imagenet' } },
  })
  const out: { x: tf.Tensor4D; y: Int32Array; index: Int32Array }[] = []
  for await (const b of loader) out.push({ x: b.x, y: b.y, index: b.index })
  await loader.close()
  return out
}
