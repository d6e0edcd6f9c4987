/**
 * Weight initialisers (PyTorch's defaults and torchvision's choices), with optional seeding:
 * inside `withInitSeed(seed, fn)` every initialiser call draws from seed, seed+1, ... so a model
 * built in that scope is reproducible.
 */
import * as tf from '@tensorflow/tfjs'

let seedCounter: number | undefined

function nextSeed(): number | undefined {
  return seedCounter === undefined ? undefined : seedCounter++
}

/** Run `fn` with seeded initialisers (nested scopes restore the previous state). */
export function withInitSeed<T>(seed: number | undefined, fn: () => T): T {
  const saved = seedCounter
  seedCounter = seed
  try {
    return fn()
  } finally {
    seedCounter = saved
  }
}

/** U(-bound, bound) */
export function uniform(shape: number[], bound: number): tf.Tensor {
  return tf.randomUniform(shape, -bound, bound, 'float32', nextSeed())
}

/** N(0, std^2) */
export function normal(shape: number[], std: number): tf.Tensor {
  return tf.randomNormal(shape, 0, std, 'float32', nextSeed())
}

/** kaiming_normal_ for ReLU: std = sqrt(2 / fan) */
export function kaimingNormal(shape: number[], fan: number): tf.Tensor {
  return normal(shape, Math.sqrt(2 / fan))
}
