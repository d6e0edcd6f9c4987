/** Shared helpers for the kernel tests: seeded data, running the same computation on two backends, errors. */
import * as tf from '@tensorflow/tfjs'

/** mulberry32: deterministic uniform [-1, 1) values. */
export function seededValues(n: number, seed: number): Float32Array {
  let a = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1
  }
  return out
}

/** Runs `fn` with `backendName` active and returns every output's values (read outside tidy), then restores. */
export async function runOn(backendName: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend()
  await tf.setBackend(backendName)
  try {
    const out = tf.tidy(fn)
    const list = Array.isArray(out) ? out : [out]
    const values = list.map((t) => Float32Array.from(t.dataSync()))
    tf.dispose(list)
    return values
  } finally {
    await tf.setBackend(previous)
  }
}

/** max|a-b| / max|b| (b is the reference). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`)
  let diff = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]))
    scale = Math.max(scale, Math.abs(b[i]))
  }
  if (!Number.isFinite(diff)) return Infinity
  return scale === 0 ? diff : diff / scale
}
