/**
 * UnsortedSegmentSum (the gradient of tf.gather): out[s, ...] = sum of x[i..., ...] over the leading positions
 * i whose segment id is s; ids outside [0, numSegments) are dropped, as in TensorFlow.
 * One pass in JS over the data: wasm has no kernel for it, and the cpu backend's makes numSegments passes.
 */
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from './util'
import { cpuBackend, wasmBackend } from './wasmInternals'

export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  xShape: number[],
  segmentIds: ArrayLike<number>,
  segmentIdsShape: number[],
  numSegments: number,
  dtype: 'float32' | 'int32',
): { values: Float32Array | Int32Array; shape: number[] } {
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`kernels/UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`)
  }
  const idRank = segmentIdsShape.length
  if (idRank > xShape.length || segmentIdsShape.some((d, i) => d !== xShape[i])) {
    throw new Error(
      `kernels/UnsortedSegmentSum: segmentIds shape [${segmentIdsShape}] must be a prefix of x shape [${xShape}]`,
    )
  }
  const inner = tf.util.sizeFromShape(xShape.slice(idRank))
  const shape = [numSegments, ...xShape.slice(idRank)]
  const values = dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner)
  const count = segmentIds.length
  for (let i = 0; i < count; i++) {
    const s = segmentIds[i]
    if (s < 0 || s >= numSegments) continue
    const src = i * inner
    const dst = s * inner
    for (let k = 0; k < inner; k++) values[dst + k] += x[src + k]
  }
  return { values, shape }
}

interface SegmentSumBackend {
  readSync(dataId: object): tf.backend_util.BackendValues
}

function compute(backend: SegmentSumBackend, inputs: { x: TensorInfo; segmentIds: TensorInfo }, numSegments: number) {
  const { x, segmentIds } = inputs
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`kernels/UnsortedSegmentSum: dtype ${x.dtype} is not supported`)
  }
  const xv = backend.readSync(x.dataId) as Float32Array | Int32Array
  const ids = backend.readSync(segmentIds.dataId) as Int32Array | Float32Array
  return unsortedSegmentSumValues(xv, x.shape, ids, segmentIds.shape, numSegments, x.dtype)
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }

export function unsortedSegmentSumWasm({ inputs, backend, attrs }: Args): TensorInfo {
  const b = wasmBackend(backend)
  const { values, shape } = compute(b, inputs as never, attrs?.numSegments as number)
  return b.makeOutput(shape, (inputs.x as TensorInfo).dtype, undefined, values)
}

export function unsortedSegmentSumCpu({ inputs, backend, attrs }: Args): TensorInfo {
  const b = cpuBackend(backend)
  const { values, shape } = compute(b, inputs as never, attrs?.numSegments as number)
  return b.makeTensorInfo(shape, (inputs.x as TensorInfo).dtype, values)
}
