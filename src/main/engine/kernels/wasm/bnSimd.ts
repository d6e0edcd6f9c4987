/**
 * The BatchNorm channel loops (kernels/batchNorm.ts) for tfjs-backend-wasm without the native addon, in wasm SIMD
 * (heapLoops.wat: 4 channels per step, a scalar tail for the rest) running directly on the backend's heap: the small
 * module imports tfjs's own WebAssembly.Memory, so tensors are read and written in place (no copies). Per-channel
 * vectors go through a scratch block from the backend's malloc. `npm run bench:kernels`: 5-45x the JS loops on the
 * wasm heap for ResNet-20 / MobileNetV2 shapes; the addon's threaded loops (native.ts) replace these when built.
 */
import * as tf from '@tensorflow/tfjs'
import type { ChannelLoops } from '../bnLoops'
import type { TensorInfo } from '../util'
import { heapF32, heapOf, offsetOf, wasmBackend, withScratch as mallocScratch } from '../wasmInternals'
import { heapLoopsFor } from './heapLoops'

export function wasmLoops(backend: unknown, c: number): ChannelLoops {
  const b = wasmBackend(backend)
  const view = (t: TensorInfo): Float32Array => heapF32(b, t)
  const output = (shape: number[]): TensorInfo => b.makeOutput(shape, 'float32')
  const simd = heapLoopsFor(b)
  const offset = (t: TensorInfo): number => offsetOf(b, t)
  const rows = (t: TensorInfo): number => tf.util.sizeFromShape(t.shape) / c

  /** Runs `body` with a zeroed scratch block: [f64 s | f64 t | f32 v0 | f32 v1 | f32 v2] (16-byte aligned). */
  function withScratch<T>(vectors: Float32Array[], body: (p: { s: number; t: number; v: number[] }) => T): T {
    return mallocScratch(b, c * 16 + vectors.length * c * 4, (base) => {
      const heap = heapOf(b)
      new Float64Array(heap, base, 2 * c).fill(0)
      const v = vectors.map((vec, i) => {
        const p = base + c * 16 + i * c * 4
        new Float32Array(heap, p, c).set(vec)
        return p
      })
      return body({ s: base, t: base + c * 8, v })
    })
  }
  const readSums = (p: { s: number; t: number }): { s: Float64Array; t: Float64Array } => {
    const buf = heapOf(b)
    return { s: new Float64Array(buf, p.s, c).slice(), t: new Float64Array(buf, p.t, c).slice() }
  }

  return {
    output,
    read: view,
    sums(x, center) {
      return withScratch([center], (p) => {
        simd.sums(offset(x), p.v[0], p.s, p.t, rows(x), c)
        return readSums(p)
      })
    },
    dotSums(x, o, center) {
      return withScratch([center], (p) => {
        simd.dotSums(offset(x), offset(o), p.v[0], p.s, p.t, rows(x), c)
        return readSums(p)
      })
    },
    affine(out, x, a, bias, y, g) {
      const vecs = y && g ? [a, bias, g] : [a, bias]
      withScratch(vecs, (p) => simd.affine(offset(out), offset(x), p.v[0], p.v[1], y ? offset(y) : 0, y ? p.v[2] : 0, rows(x), c))
    },
  }
}
