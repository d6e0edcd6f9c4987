/**
 * Tile for the wasm backend as block copies (TypedArray.set / copyWithin) on the wasm heap. wasm's own Tile
 * computes every output element's source index and dominated a training step: tf.batchNorm's gradient tiles a
 * [1,1,1,C] tensor to [N,H,W,C] for every BatchNorm layer (measured 1.25 s of a 3.6 s ResNet-20 step, batch 64).
 */
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from './util'
import { wasmBackend } from './wasmInternals'

type Heap = Float32Array | Int32Array | Uint8Array

/** Writes x tiled by `reps` into `out` (both row-major; out's shape is x.shape[d] * reps[d]). */
export function tileInto(x: Heap, xShape: number[], reps: number[], out: Heap): void {
  const rank = xShape.length
  if (rank === 0) {
    out[0] = x[0]
    return
  }
  const outShape = xShape.map((d, i) => d * reps[i])
  const xStrides = tf.util.computeStrides(xShape).concat(1)
  const outStrides = tf.util.computeStrides(outShape).concat(1)
  const fill = (dim: number, src: number, dst: number): void => {
    const n = xShape[dim]
    if (dim === rank - 1) {
      out.set(x.subarray(src, src + n), dst)
    } else {
      for (let i = 0; i < n; i++) fill(dim + 1, src + i * xStrides[dim], dst + i * outStrides[dim])
    }
    // replicate the block just written (n entries along `dim`) reps[dim]-1 times, doubling the copied span
    const block = n * outStrides[dim]
    const total = block * reps[dim]
    let done = block
    while (done < total) {
      const len = Math.min(done, total - done)
      out.copyWithin(dst + done, dst, dst + len)
      done += len
    }
  }
  if (outShape.some((d) => d === 0)) return
  fill(0, 0, 0)
}

export function makeTileWasm(original: tf.KernelConfig | undefined): (args: {
  inputs: tf.NamedTensorInfoMap
  backend: unknown
  attrs?: tf.NamedAttrMap
}) => TensorInfo {
  return (args) => {
    const x = args.inputs.x as TensorInfo
    const reps = args.attrs?.reps as number[]
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
      if (!original) throw new Error(`kernels/Tile: dtype ${x.dtype} is not supported`)
      return original.kernelFunc(args as never) as TensorInfo
    }
    if (!Array.isArray(reps) || reps.length !== x.shape.length) {
      throw new Error(`kernels/Tile: reps [${reps}] must have one entry per dimension of x [${x.shape}]`)
    }
    const backend = wasmBackend(args.backend)
    const out = backend.makeOutput(
      x.shape.map((d, i) => d * reps[i]),
      x.dtype,
    )
    // views taken after makeOutput: allocating may grow (and detach) the heap buffer
    tileInto(backend.typedArrayFromHeap(x) as Heap, x.shape, reps, backend.typedArrayFromHeap(out) as Heap)
    return out
  }
}
