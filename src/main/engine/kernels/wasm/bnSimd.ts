/**
 * The BatchNorm channel loops (kernels/batchNorm.ts) for tfjs-backend-wasm, in wasm SIMD (heapLoops.wat) running
 * directly on the backend's heap: the small module imports tfjs's own WebAssembly.Memory, so tensors are read and
 * written in place (no copies). Per-channel vectors go through a scratch block from the backend's malloc.
 * Channel counts that are not a multiple of 4, or a backend whose memory cannot be found, use the JS loops.
 */
import * as tf from '@tensorflow/tfjs'
import { jsLoops, type ChannelLoops } from '../bnLoops'
import type { TensorInfo } from '../util'
import { heapLoopsFor, type HeapLoops } from './heapLoops'

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array
  dataIdMap: { get(id: object): { memoryOffset: number } }
  wasm: { _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array }
}

function simdFor(b: WasmBackend): HeapLoops | null {
  return heapLoopsFor(b)
}

/** Whether the SIMD loops are in use on this wasm backend (for reports and tests). */
export function bnSimdActive(backend: unknown): boolean {
  return simdFor(backend as WasmBackend) != null
}

export function wasmLoops(backend: unknown, c: number): ChannelLoops {
  const b = backend as WasmBackend
  const view = (t: TensorInfo): Float32Array => b.typedArrayFromHeap(t)
  const output = (shape: number[]): TensorInfo => b.makeOutput(shape, 'float32')
  const simd = c % 4 === 0 ? simdFor(b) : null
  if (!simd) return jsLoops(view, output)
  const offset = (t: TensorInfo): number => b.dataIdMap.get(t.dataId).memoryOffset
  const rows = (t: TensorInfo): number => tf.util.sizeFromShape(t.shape) / c

  /** Runs `body` with a zeroed scratch block: [f64 s | f64 t | f32 v0 | f32 v1 | f32 v2] (16-byte aligned). */
  function withScratch<T>(vectors: Float32Array[], body: (p: { s: number; t: number; v: number[] }) => T): T {
    const bytes = c * 16 + vectors.length * c * 4 + 16
    const raw = b.wasm._malloc(bytes) >>> 0
    const base = ((raw + 15) & ~15) >>> 0
    try {
      const heap = b.wasm.HEAPU8
      heap.fill(0, base, base + c * 16)
      const v = vectors.map((vec, i) => {
        const p = base + c * 16 + i * c * 4
        new Float32Array(heap.buffer, p, c).set(vec)
        return p
      })
      return body({ s: base, t: base + c * 8, v })
    } finally {
      b.wasm._free(raw)
    }
  }
  const readSums = (p: { s: number; t: number }): { s: Float64Array; t: Float64Array } => {
    const buf = b.wasm.HEAPU8.buffer
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
