/**
 * Conv2D gradients on the wasm backend, expressed as forward convolutions so they run on XNNPACK.
 *
 * Conv2DBackpropFilter (wasm has none): with x [N,H,W,Ci] and dy [N,Ho,Wo,Co],
 *   dW[a,b,ci,co] = sum_{n,i,j} x[n, i*s + a - padTop, j*s + b - padLeft, ci] * dy[n,i,j,co]
 * which is a stride-1 convolution of x^T [Ci,H,W,N] (batch <- in-channels, channels <- batch) with
 * dy^T [Ho,Wo,N,Co] as the filter, dilated by the forward stride, giving [Ci,fh,fw,Co] -> [fh,fw,Ci,Co].
 *
 * Conv2DBackpropInput: dx is a stride-1 convolution of dy (zero-dilated by the forward stride when strided)
 * with the spatially flipped filter whose in/out channels are swapped, padded by (f - 1 - pad).
 */
import * as tf from '@tensorflow/tfjs'
import { assertChannelsLast, type KernelBackendLike, type TensorInfo, withRunner } from './util'

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
  return withRunner(backendName, backend, (r) => {
    const xT = r.transpose(x, [3, 1, 2, 0]) // [Ci, H, W, N]
    const dyT = r.transpose(dy, [1, 2, 0, 3]) // [Ho, Wo, N, Co]
    const top = info.padInfo.top
    const left = info.padInfo.left
    const bottom = fh + (ho - 1) * sh - h - top
    const right = fw + (wo - 1) * sw - w - left
    const g = r.conv2dPadded(xT, dyT, { top, bottom, left, right }, [sh, sw]) // [Ci, fh, fw, Co]
    return r.transpose(g, [1, 2, 0, 3])
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
  return withRunner(backendName, backend, (r) => {
    const flipped = r.run('Reverse', { x: filter }, { dims: [0, 1] })
    const wT = r.transpose(flipped, [0, 1, 3, 2]) // [fh, fw, Co, Ci]
    const dyD = r.dilateSpatial(dy, sh, sw) // [N, Ho*sh, Wo*sw, Co], (s-1) trailing zeros
    const top = fh - 1 - info.padInfo.top
    const left = fw - 1 - info.padInfo.left
    // output rows = rowsIn + top + bottom - fh + 1 = H, with rowsIn = Ho*sh
    const bottom = h + fh - 1 - ho * sh - top
    const right = w + fw - 1 - wo * sw - left
    return r.conv2dPadded(dyD, wT, { top, bottom, left, right }, [1, 1])
  })
}
