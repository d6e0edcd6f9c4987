/**
 * Conv2D gradients on the wasm backend when the native addon is absent (with it, native.ts's kernels take both, at
 * 5-15x these on 2 threads: `npm run bench:kernels`), as work XNNPACK does fast. One implementation per gradient:
 *
 * Conv2DBackpropFilter (wasm has none): with x [N,H,W,Ci] and dy [N,Ho,Wo,Co],
 *   dW[a,b,ci,co] = sum_{n,i,j} x[n, i*s + a - padTop, j*s + b - padLeft, ci] * dy[n,i,j,co]
 * i.e. dW [fh*fw*Ci, Co] = P^T dy with P the im2col patch matrix, built transposed on the heap by heapLoops.im2colT
 * and multiplied by one BatchMatMul (1x1 unpadded filters need no patches).
 *
 * Conv2DBackpropInput (replaces wasm's scalar loop, 5-13x slower): dx is a stride-1 convolution of dy with the
 * spatially flipped filter whose in/out channels are swapped, padded by (f - 1 - pad); strided ones by stride phases.
 */
import * as tf from '@tensorflow/tfjs'
import { assertChannelsLast, type KernelBackendLike, type TensorInfo, withRunner } from './util'
import { heapLoopsFor } from './wasm/heapLoops'
import { heapF32, offsetOf, wasmBackend } from './wasmInternals'

type ConvAttrs = {
  strides: number | [number, number]
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
  dataFormat?: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

export type Conv2DBackpropFilterAttrs = ConvAttrs & { filterShape: [number, number, number, number] }
export type Conv2DBackpropInputAttrs = ConvAttrs & { inputShape: [number, number, number, number] }

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise = false,
  dilations: number | [number, number] = 1,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  )
}

function checkDy(kernelName: string, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): void {
  const expected = info.outShape
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`kernels/${kernelName}: dy has shape [${dy.shape}] but the convolution output is [${expected}]`)
  }
}

export function conv2DBackpropFilterWasm(
  backendName: string,
  backend: KernelBackendLike,
  inputs: { x: TensorInfo; dy: TensorInfo },
  attrs: Conv2DBackpropFilterAttrs,
): TensorInfo {
  const name = 'Conv2DBackpropFilter'
  assertChannelsLast(name, attrs.dataFormat)
  const { x, dy } = inputs
  const info = convInfo(x.shape, attrs.filterShape, attrs)
  checkDy(name, dy, info)
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info
  const { outHeight: ho, outWidth: wo } = info
  const { top: padTop, left: padLeft } = info.padInfo
  if (fh === 1 && fw === 1 && padTop === 0 && padLeft === 0) {
    // 1x1: dW = x_s^T dy, a plain matrix product of the (subsampled) input rows and dy rows
    return withRunner(backendName, backend, (r) => {
      const [n, , , ci] = x.shape
      const co = dy.shape[3]
      const xs = sh === 1 && sw === 1 && ho === h && wo === w ? x : r.stridedSlice(x, [0, 0, 0, 0], [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, ci], [1, sh, sw, 1])
      const rows = n * ho * wo
      const xT = r.transpose(r.reshape(xs, [rows, ci]), [1, 0]) // [Ci, M]
      return r.reshape(r.matMul(xT, r.reshape(dy, [rows, co])), [1, 1, ci, co])
    })
  }
  // dW [fh*fw*Ci, Co] = P^T dy with P^T [fh*fw*Ci, N*Ho*Wo] the transposed patch matrix, built on the heap by
  // heapLoops.im2colT from x^T [Ci, N, H, W]: one GEMM instead of a stride-1 convolution of x^T by dy^T (a Ho x Wo
  // kernel), which XNNPACK ran 1.3-3x slower on ResNet-20 / ResNet-18 / MobileNetV2-stem shapes (bench:kernels)
  const loops = heapLoopsFor(backend)
  const b = wasmBackend(backend)
  return withRunner(backendName, backend, (r) => {
    const [n, , , ci] = x.shape
    const co = dy.shape[3]
    const rows = n * ho * wo
    const xT = r.transpose(x, [3, 0, 1, 2]) // [Ci, N, H, W]
    const pT = r.adopt(b.makeOutput([fh * fw * ci, rows], 'float32'))
    const src = offsetOf(b, xT)
    const dst = offsetOf(b, pT)
    const block = ci * rows * 4
    const { dilationHeight: dilH, dilationWidth: dilW } = info
    const same = sh === 1 && sw === 1 && ho === h && wo === w
    for (let a = 0; a < fh; a++) {
      for (let bb = 0; bb < fw; bb++) {
        const at = dst + (a * fw + bb) * block
        const dh = a * dilH - padTop
        const dw = bb * dilW - padLeft
        if (same) loops.im2colTSame(src, at, ci * n, h, w, dh, dw)
        else loops.im2colT(src, at, ci * n, h, w, ho, wo, dh, dw, sh, sw)
      }
    }
    return r.reshape(r.matMul(pT, r.reshape(dy, [rows, co])), [fh, fw, ci, co])
  })
}

/**
 * dx for any stride. Replaces wasm's own Conv2DBackpropInput (a scalar loop): measured on ResNet-20 shapes,
 * batch 64, 13x faster at stride 1 and 2.5x faster at stride 2 (where the zero-dilated dy wastes 3/4 of the work).
 */
export function conv2DBackpropInputWasm(
  backendName: string,
  backend: KernelBackendLike,
  inputs: { dy: TensorInfo; filter: TensorInfo },
  attrs: Conv2DBackpropInputAttrs,
): TensorInfo {
  const name = 'Conv2DBackpropInput'
  assertChannelsLast(name, attrs.dataFormat)
  const { dy, filter } = inputs
  const info = convInfo(attrs.inputShape, filter.shape, attrs)
  checkDy(name, dy, info)
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info
  const { outHeight: ho, outWidth: wo } = info
  if (sh > 1 || sw > 1) return stridedBackpropInput(backendName, backend, dy, filter, info)
  return withRunner(backendName, backend, (r) => {
    const wT = r.transpose(r.flipSpatial(filter), [0, 1, 3, 2]) // [fh, fw, Co, Ci]
    const top = fh - 1 - info.padInfo.top
    const left = fw - 1 - info.padInfo.left
    // output rows = rowsIn + top + bottom - fh + 1 = H
    const bottom = h + fh - 1 - ho - top
    const right = w + fw - 1 - wo - left
    return r.conv2dPadded(dy, wT, { top, bottom, left, right }, [1, 1])
  })
}

/** One stride phase of one spatial axis: which filter taps reach the input rows r = s*q + phase, and where. */
interface Phase {
  phase: number
  /** taps of this phase (0: no filter tap reaches these rows, their gradient is 0) */
  taps: number
  /** first tap in the spatially flipped filter (taps are `stride` apart) */
  begin: number
  /** number of input rows of this phase */
  rows: number
  /** conv paddings (may be negative = crop) */
  before: number
  after: number
}

function phases(f: number, s: number, pad: number, inSize: number, outSize: number): Phase[] {
  return Array.from({ length: s }, (_, phase) => {
    const a0 = (phase + pad) % s
    const c0 = Math.floor((phase + pad) / s)
    const taps = a0 < f ? Math.ceil((f - a0) / s) : 0
    const rows = phase < inSize ? Math.ceil((inSize - phase) / s) : 0
    const before = taps - 1 - c0
    return { phase, taps, begin: f - 1 - a0 - s * (taps - 1), rows, before, after: rows - outSize + taps - 1 - before }
  })
}

/**
 * dx of a strided convolution by stride phases: the input rows/columns congruent to (ph, pw) modulo the stride get
 * their gradient from a stride-1 convolution of dy with the taps of the flipped filter of that phase. s^2 small
 * convolutions do the work of one (a zero-dilated dy would make 3/4 of a stride-2 convolution multiply zeros);
 * the phase results are interleaved into dx on the wasm heap.
 */
function stridedBackpropInput(backendName: string, backend: KernelBackendLike, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const b = wasmBackend(backend)
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = info
  const [n, , , co] = dy.shape
  const ci = info.inChannels
  const rowsPh = phases(fh, sh, info.padInfo.top, h, ho)
  const colsPh = phases(fw, sw, info.padInfo.left, w, wo)
  return withRunner(backendName, backend, (r) => {
    const wT = r.transpose(r.flipSpatial(filter), [0, 1, 3, 2]) // [fh, fw, Co, Ci]
    const parts: { p: Phase; q: Phase; dx: TensorInfo }[] = []
    for (const p of rowsPh) {
      for (const q of colsPh) {
        if (p.taps === 0 || q.taps === 0 || p.rows === 0 || q.rows === 0) continue
        const sub = r.stridedSlice(wT, [p.begin, q.begin, 0, 0], [p.begin + sh * (p.taps - 1) + 1, q.begin + sw * (q.taps - 1) + 1, co, ci], [sh, sw, 1, 1])
        const dx = r.conv2dPadded(dy, sub, { top: p.before, bottom: p.after, left: q.before, right: q.after }, [1, 1])
        if (dx.shape[1] !== p.rows || dx.shape[2] !== q.rows) {
          throw new Error(`kernels/Conv2DBackpropInput: phase (${p.phase}, ${q.phase}) gave [${dx.shape}], expected ${p.rows}x${q.rows} rows`)
        }
        parts.push({ p, q, dx })
      }
    }
    const out = b.makeOutput([n, h, w, ci], 'float32')
    const dst = heapF32(b, out)
    if (parts.length < sh * sw) dst.fill(0)
    for (const { p, q, dx } of parts) {
      const src = heapF32(b, dx)
      const heapDst = dst.byteOffset / 4
      const heapSrc = src.byteOffset / 4
      const heap = new Float32Array(dst.buffer)
      let k = heapSrc
      for (let img = 0; img < n; img++) {
        for (let i = 0; i < p.rows; i++) {
          const rowBase = heapDst + ((img * h + i * sh + p.phase) * w + q.phase) * ci
          for (let j = 0; j < q.rows; j++, k += ci) heap.copyWithin(rowBase + j * sw * ci, k, k + ci)
        }
      }
    }
    return out
  })
}
