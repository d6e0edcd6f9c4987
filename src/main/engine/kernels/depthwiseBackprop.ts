/**
 * DepthwiseConv2dNative gradients for the wasm backend (which has neither), built from wasm kernels.
 * x [N,H,W,C], filter [fh,fw,C,M], dy [N,Ho,Wo,C*M] (output channel c*M + m).
 *
 * Input gradient: a stride-1 depthwise convolution of dy (zero-dilated by the stride) over its C*M channels
 * with the flipped filter reshaped to [fh,fw,C*M,1], then a sum over m.
 *
 * Filter gradient, per filter tap (a,b): the strided window of the padded input that tap saw,
 * multiplied by dy and summed over (n,i,j) with a ones-vector matmul (XNNPACK GEMV).
 */
import * as tf from '@tensorflow/tfjs'
import { assertChannelsLast, type KernelBackendLike, type TensorInfo, withRunner } from './util'

type DepthwiseAttrs = {
  strides: number | [number, number]
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
  dilations?: number | [number, number]
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  dataFormat?: 'NHWC' | 'NCHW'
}
export type DepthwiseBackpropFilterAttrs = DepthwiseAttrs & { filterShape: [number, number, number, number] }
export type DepthwiseBackpropInputAttrs = DepthwiseAttrs & { inputShape: [number, number, number, number] }

function depthwiseInfo(kernelName: string, xShape: number[], filterShape: number[], dy: TensorInfo, attrs: DepthwiseAttrs) {
  assertChannelsLast(kernelName, attrs.dataFormat)
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
    'channelsLast',
  )
  const expected = info.outShape
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`kernels/${kernelName}: dy has shape [${dy.shape}] but the depthwise output is [${expected}]`)
  }
  return info
}

export function depthwiseConv2dNativeBackpropInputWasm(
  backendName: string,
  backend: KernelBackendLike,
  inputs: { dy: TensorInfo; filter: TensorInfo },
  attrs: DepthwiseBackpropInputAttrs,
): TensorInfo {
  const { dy, filter } = inputs
  const info = depthwiseInfo('DepthwiseConv2dNativeBackpropInput', attrs.inputShape, filter.shape, dy, attrs)
  const [fh, fw, c, m] = filter.shape
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, batchSize: n } = info
  return withRunner(backendName, backend, (r) => {
    const flipped = r.flipSpatial(filter)
    const f = r.reshape(flipped, [fh, fw, c * m, 1])
    const dyD = r.dilateSpatial(dy, sh, sw)
    const effH = (fh - 1) * dh + 1
    const effW = (fw - 1) * dw + 1
    const top = effH - 1 - info.padInfo.top
    const left = effW - 1 - info.padInfo.left
    const bottom = h + effH - 1 - ho * sh - top
    const right = w + effW - 1 - wo * sw - left
    const dxAll = r.conv2dPadded(dyD, f, { top, bottom, left, right }, [dh, dw], true) // [N,H,W,C*M]
    if (m === 1) return dxAll
    const dx5 = r.reshape(dxAll, [n, h, w, c, m])
    return r.run('Sum', { x: dx5 }, { axis: [4], keepDims: false })
  })
}

export function depthwiseConv2dNativeBackpropFilterWasm(
  backendName: string,
  backend: KernelBackendLike,
  inputs: { x: TensorInfo; dy: TensorInfo },
  attrs: DepthwiseBackpropFilterAttrs,
): TensorInfo {
  const { x, dy } = inputs
  const info = depthwiseInfo('DepthwiseConv2dNativeBackpropFilter', x.shape, attrs.filterShape, dy, attrs)
  const [fh, fw, c, m] = attrs.filterShape
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, batchSize: n } = info
  const p = n * ho * wo
  return withRunner(backendName, backend, (r) => {
    const top = info.padInfo.top
    const left = info.padInfo.left
    // rows the last tap of the last output row reads, in padded coordinates
    const bottom = Math.max(0, (fh - 1) * dh + (ho - 1) * sh + 1 - h - top)
    const right = Math.max(0, (fw - 1) * dw + (wo - 1) * sw + 1 - w - left)
    const xp =
      top + bottom + left + right > 0
        ? r.run('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })
        : x
    const dyM = m === 1 ? dy : r.reshape(dy, [n, ho, wo, c, m])
    const ones = r.run('Fill', {}, { shape: [1, 1, p], value: 1, dtype: 'float32' })
    const taps: TensorInfo[] = []
    for (let a = 0; a < fh; a++) {
      for (let b = 0; b < fw; b++) {
        const win = r.stridedSlice(
          xp,
          [0, a * dh, b * dw, 0],
          [n, a * dh + (ho - 1) * sh + 1, b * dw + (wo - 1) * sw + 1, c],
          [1, sh, sw, 1],
        ) // [N,Ho,Wo,C]
        const winM = m === 1 ? win : r.reshape(win, [n, ho, wo, c, 1])
        const prod = r.run('Multiply', { a: winM, b: dyM })
        const prod3 = r.reshape(prod, [1, p, c * m])
        taps.push(r.run('BatchMatMul', { a: ones, b: prod3 }, { transposeA: false, transposeB: false })) // [1,1,C*M]
      }
    }
    const all = taps.length === 1 ? taps[0] : r.run('Concat', taps, { axis: 1 })
    return r.reshape(all, [fh, fw, c, m])
  })
}
