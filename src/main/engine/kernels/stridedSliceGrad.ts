/**
 * Gradient of StridedSlice, which tfjs 4.22 does not define (any backend): the CIFAR ResNet "option A" shortcut
 * x[:, :, ::2, ::2] needs it. dx is dy scattered back to the positions begin + k*stride of each axis:
 * per axis, zero-dilate dy by the stride, then pad it out to x's extent. Built from differentiable tf ops; on wasm
 * with the addon one scatter kernel (DaftStridedSliceGrad) instead.
 */
import * as tf from '@tensorflow/tfjs'
import { STRIDED_SLICE_GRAD } from './native'

type StridedSliceAttrs = {
  begin: number[]
  end: number[]
  strides: number[]
  beginMask: number
  endMask: number
  ellipsisMask: number
  newAxisMask: number
  shrinkAxisMask: number
}

/** Inserts (s-1) zeros after each element along `axis` and drops the trailing ones: n -> (n-1)*s+1. */
function dilateAxis(t: tf.Tensor, axis: number, s: number): tf.Tensor {
  const shape = t.shape
  const n = shape[axis]
  const expanded = tf.reshape(t, [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)])
  const pads = expanded.shape.map((_, i) => (i === axis + 1 ? [0, s - 1] : [0, 0]) as [number, number])
  const merged = tf.reshape(tf.pad(expanded, pads), [...shape.slice(0, axis), n * s, ...shape.slice(axis + 1)])
  const size = merged.shape.map((d, i) => (i === axis ? (n - 1) * s + 1 : d))
  return tf.slice(merged, new Array(size.length).fill(0), size)
}

export function stridedSliceGradient(dy: tf.Tensor, x: tf.Tensor, attrs: StridedSliceAttrs): tf.Tensor {
  const info = tf.slice_util.sliceInfo(
    x.shape,
    attrs.begin,
    attrs.end,
    attrs.strides,
    attrs.beginMask,
    attrs.endMask,
    attrs.ellipsisMask,
    attrs.newAxisMask,
    attrs.shrinkAxisMask,
  )
  // per input axis, how many elements the slice took (shrunk axes count 1), as the kernel's processing shape
  const sparse = x.shape.map((_, i) => {
    const len = info.end[i] - info.begin[i]
    const s = info.strides[i]
    if (len === 0 || len < 0 !== s < 0) return 0
    return Math.trunc(len / s) + (len % s !== 0 ? 1 : 0)
  })
  if (tf.util.sizeFromShape(sparse) !== dy.size) {
    throw new Error(`kernels/StridedSlice gradient: dy has ${dy.size} elements, the slice [${sparse}]`)
  }
  let g = tf.reshape(dy, sparse)
  // one scatter pass where the backend has it (the addon on wasm, kernels/native.ts)
  if (dy.dtype === 'float32' && dy.size > 0 && x.rank <= 6 && info.strides.every((st) => st > 0) && tf.getKernel(STRIDED_SLICE_GRAD, tf.getBackend()) != null) {
    return tf.engine().runKernel(STRIDED_SLICE_GRAD, { dy: g }, { shape: x.shape, begin: info.begin, strides: info.strides } as unknown as tf.NamedAttrMap) as tf.Tensor
  }
  const pads: [number, number][] = []
  for (let axis = 0; axis < x.rank; axis++) {
    const n = sparse[axis]
    let s = info.strides[axis]
    let b = info.begin[axis]
    if (s < 0) {
      g = tf.reverse(g, axis)
      s = -s
      b = b - (n - 1) * s
    }
    if (s > 1 && n > 1) g = dilateAxis(g, axis, s)
    const extent = (n - 1) * s + 1
    pads.push([b, x.shape[axis] - b - extent])
  }
  return tf.pad(g, pads)
}

export const stridedSliceGradConfig: tf.GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved
    return { x: () => stridedSliceGradient(dy as tf.Tensor, x, attrs as unknown as StridedSliceAttrs) }
  },
}

/** Registers the StridedSlice gradient unless tfjs already has one. Returns true when it registered it. */
export function registerStridedSliceGradient(): boolean {
  if (tf.getGradient('StridedSlice') != null) return false
  tf.registerGradient(stridedSliceGradConfig)
  return true
}
