/**
 * FoldBatchNorm (wasm): a conv's filter and bias with an inference-mode BatchNorm folded in, in one kernel:
 *   scale = gamma / sqrt(running_var + eps),  W' = W * scale (per output channel),  b' = beta - running_mean * scale
 *   (+ conv_bias * scale).
 * nn/fold.ts uses it when no gradient tape is recording (plain inference): the same values as its tf-op path, which
 * stays for training with frozen BN (it must be differentiable), in one call instead of six kernels per conv.
 *
 * inputs {filter [..., C], gamma, beta, mean, variance [C], bias? [C]}, attrs {epsilon} -> [filter', bias']
 */
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from './util'

export const FOLD_BATCH_NORM = 'FoldBatchNorm'

interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }

export function foldBatchNormWasm({ inputs, backend, attrs }: Args): TensorInfo[] {
  const { filter, gamma, beta, mean, variance, bias } = inputs as Record<string, TensorInfo | undefined>
  if (!filter || !gamma || !beta || !mean || !variance) throw new Error(`kernels/${FOLD_BATCH_NORM}: filter, gamma, beta, mean and variance are required`)
  const c = filter.shape[filter.shape.length - 1]
  for (const [name, t] of Object.entries({ gamma, beta, mean, variance, bias })) {
    if (t && (t.shape.length !== 1 || t.shape[0] !== c || t.dtype !== 'float32')) {
      throw new Error(`kernels/${FOLD_BATCH_NORM}: ${name} must be float32 of shape [${c}], got [${t.shape}] ${t.dtype}`)
    }
  }
  if (filter.dtype !== 'float32') throw new Error(`kernels/${FOLD_BATCH_NORM}: filter must be float32`)
  const eps = Number((attrs as { epsilon?: number }).epsilon ?? 1e-5)
  const b = backend as WasmBackend
  const wOut = b.makeOutput(filter.shape, 'float32')
  const bOut = b.makeOutput([c], 'float32')
  // views after allocating (a heap growth detaches earlier ones)
  const view = (t: TensorInfo): Float32Array => b.typedArrayFromHeap(t)
  const [g, be, mu, v] = [gamma, beta, mean, variance].map(view)
  const cb = bias ? view(bias) : null
  const scale = new Float32Array(c)
  const shift = view(bOut)
  for (let k = 0; k < c; k++) {
    // float32 steps, as the tf-op path computes them
    scale[k] = Math.fround(g[k] * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(v[k] + eps)))))
    shift[k] = Math.fround(be[k] - Math.fround(mu[k] * scale[k]))
    if (cb) shift[k] = Math.fround(shift[k] + Math.fround(cb[k] * scale[k]))
  }
  const w = view(filter)
  const out = view(wOut)
  for (let i = 0, k = 0; i < w.length; i++) {
    out[i] = w[i] * scale[k]
    if (++k === c) k = 0
  }
  return [wOut, bOut]
}
