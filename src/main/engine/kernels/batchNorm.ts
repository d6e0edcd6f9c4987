/**
 * Channels-last BatchNorm kernels (and their gradients) for the wasm and cpu backends, written as single-pass
 * loops straight over the backend's memory (the wasm heap or the cpu backend's arrays), accumulating in float64.
 *
 * Why: tfjs-core builds training-mode BN from moments (Mean, Sub, Square, Mean: each a transpose + reduce on wasm)
 * and FusedBatchNorm, whose gradient tiles the variance to the activation's size and reduces with Sum; on ResNet-20
 * (batch 64) that was ~45% of a wasm training step. Here a training-mode forward reads x twice and writes y once,
 * and the backward reads dy and x twice and writes dx once.
 *
 * Kernels (x [..., C] float32, per-channel vectors [C]):
 *   BatchNormTrainNHWC      {x, scale, offset}, {epsilon} -> [y, mean, variance]   (batch statistics, biased variance)
 *   BatchNormTrainNHWCGrad  {dy, x, scale, mean, variance}, {epsilon} -> [dx, dscale, doffset]
 *   BatchNormInferNHWC      {x, mean, variance, scale, offset}, {epsilon} -> y      (given statistics)
 *   BatchNormInferNHWCGrad  {dy, x, mean, variance, scale}, {epsilon} -> [dx, dscale, doffset]
 * The batch statistics returned by the training forward are treated as constants by the gradient (they only feed
 * the running-stat update, which PyTorch does under no_grad); the given statistics of the inference kernel get no
 * gradient (zeros), as PyTorch's running_mean / running_var buffers get none.
 */
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from './util'
import { wasmLoops } from './wasm/bnSimd'
import { bnGradCoefficients, checkBnInputs as check, jsLoops, type ChannelLoops } from './bnLoops'
import { cpuBackend, cpuOutput, cpuValues } from './wasmInternals'

export { jsLoops, type ChannelLoops }

export const BN_TRAIN = 'BatchNormTrainNHWC'
export const BN_TRAIN_GRAD = 'BatchNormTrainNHWCGrad'
export const BN_INFER = 'BatchNormInferNHWC'
export const BN_INFER_GRAD = 'BatchNormInferNHWCGrad'

type Attrs = { epsilon: number }

type KArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }


/** The JS loops on the cpu backend's own arrays. */
export function cpuLoops(backend: unknown): ChannelLoops {
  const b = cpuBackend(backend)
  return jsLoops(
    (t) => cpuValues(b, t),
    (shape) => cpuOutput(b, shape),
  )
}


/** Kernel functions over the loops `loopsFor(backend, channels)` provides. */
export function makeBatchNormKernels(loopsFor: (backend: unknown, c: number) => ChannelLoops): Record<string, (args: KArgs) => TensorInfo | TensorInfo[]> {
  /**
   * What both gradients start with: outputs [dx, dscale, doffset], the statistics used, and one pass over x and dy
   * for sum(dy) and sum(dy * (x - mean)) per channel.
   */
  const gradientSums = (name: string, { inputs, backend, attrs }: KArgs) => {
    const { dy, x, scale, mean, variance } = inputs as Record<string, TensorInfo>
    const c = check(name, x, { scale, mean, variance }, { dy })
    const L = loopsFor(backend, c)
    const outs = [L.output(x.shape), L.output([c]), L.output([c])]
    // read after allocating the outputs (a wasm heap growth detaches earlier views)
    const mu = L.read(mean).slice()
    const { s: sdy, t: sdyx } = L.dotSums(x, dy, mu)
    return { c, eps: (attrs as Attrs).epsilon, L, outs, x, dy, mu, g: L.read(scale), v: L.read(variance), sdy, sdyx }
  }
  return {
    [BN_TRAIN]: ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as Record<string, TensorInfo>
      const c = check(BN_TRAIN, x, { scale, offset })
      const eps = (attrs as Attrs).epsilon
      const L = loopsFor(backend, c)
      const outs = [L.output(x.shape), L.output([c]), L.output([c])]
      // sums shifted by the first row, in float64: no catastrophic cancellation in E[d^2] - E[d]^2
      const first = L.read(x).slice(0, c)
      const { s, t } = L.sums(x, first)
      const g = L.read(scale)
      const b = L.read(offset)
      const m = tf.util.sizeFromShape(x.shape) / c
      const a = new Float32Array(c)
      const shift = new Float32Array(c)
      const meanOut = L.read(outs[1])
      const varOut = L.read(outs[2])
      for (let k = 0; k < c; k++) {
        const d = s[k] / m
        const mean = first[k] + d
        const variance = Math.max(0, t[k] / m - d * d)
        meanOut[k] = mean
        varOut[k] = variance
        a[k] = g[k] / Math.sqrt(variance + eps)
        shift[k] = b[k] - mean * a[k]
      }
      L.affine(outs[0], x, a, shift)
      return outs
    },
    [BN_TRAIN_GRAD]: (args) => {
      const { c, eps, L, outs, x, dy, mu, g, v, sdy, sdyx } = gradientSums(BN_TRAIN_GRAD, args)
      const m = tf.util.sizeFromShape(x.shape) / c
      // dx = g*r*(dy - mean(dy) - xhat*mean(dy*xhat)), xhat = (x - mu)*r, r = 1/sqrt(v + eps)  =  k1*dy + k2*x + k3
      const { k1, k2, k3 } = bnGradCoefficients(g, mu, v, sdy, sdyx, eps, m, L.read(outs[1]), L.read(outs[2]))
      L.affine(outs[0], x, k2, k3, dy, k1)
      return outs
    },
    [BN_INFER]: ({ inputs, backend, attrs }) => {
      const { x, mean, variance, scale, offset } = inputs as Record<string, TensorInfo>
      const c = check(BN_INFER, x, { mean, variance, scale, offset })
      const eps = (attrs as Attrs).epsilon
      const L = loopsFor(backend, c)
      const out = L.output(x.shape)
      const [mu, v, g, b] = [mean, variance, scale, offset].map((t) => L.read(t))
      const a = new Float32Array(c)
      const shift = new Float32Array(c)
      for (let k = 0; k < c; k++) {
        a[k] = g[k] / Math.sqrt(v[k] + eps)
        shift[k] = b[k] - mu[k] * a[k]
      }
      L.affine(out, x, a, shift)
      return out
    },
    [BN_INFER_GRAD]: (args) => {
      const { c, eps, L, outs, dy, g, v, sdy, sdyx } = gradientSums(BN_INFER_GRAD, args)
      const a = new Float32Array(c)
      const dscale = L.read(outs[1])
      const doffset = L.read(outs[2])
      for (let k = 0; k < c; k++) {
        const r = 1 / Math.sqrt(v[k] + eps)
        a[k] = g[k] * r
        dscale[k] = sdyx[k] * r
        doffset[k] = sdy[k]
      }
      L.affine(outs[0], dy, a, new Float32Array(c))
      return outs
    },
  }
}

let gradientsRegistered = false

function registerGradients(): void {
  if (gradientsRegistered) return
  gradientsRegistered = true
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor
      const [x, scale, mean, variance] = saved
      const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x, scale, mean, variance }, attrs) as tf.Tensor[]
      return { x: () => dx, scale: () => dscale, offset: () => doffset }
    },
  })
  tf.registerGradient({
    kernelName: BN_INFER,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved
      const [dx, dscale, doffset] = tf.engine().runKernel(BN_INFER_GRAD, { dy: dy as tf.Tensor, x, mean, variance, scale }, attrs) as tf.Tensor[]
      return { x: () => dx, scale: () => dscale, offset: () => doffset, mean: () => tf.zerosLike(mean), variance: () => tf.zerosLike(variance) }
    },
  })
}

/**
 * Registers the four kernels on `backendName` ('wasm' or 'cpu') and their gradients, over `loops` (default: the wasm
 * SIMD loops or the cpu backend's JS loops). Returns the kernel names.
 */
export function registerBatchNormKernels(backendName: 'wasm' | 'cpu', loops?: (backend: unknown, c: number) => ChannelLoops): string[] {
  registerGradients()
  const kernels = makeBatchNormKernels(loops ?? (backendName === 'wasm' ? wasmLoops : cpuLoops))
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    if (tf.getKernel(kernelName, backendName)) continue
    tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc })
  }
  return Object.keys(kernels)
}

/** True when the active backend has the fused BN kernels (else callers use tf.moments + tf.batchNorm). */
export function hasFastBatchNorm(): boolean {
  return tf.getKernel(BN_TRAIN, tf.getBackend()) != null
}

/** Training-mode BN over every axis but the last: y and the batch mean and biased variance. */
export function batchNormTrain(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x, scale, offset }, { epsilon }) as tf.Tensor[]
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D }
}

/** BN with given statistics (eval / frozen mode); differentiable in x, scale and offset. */
export function batchNormInfer(x: tf.Tensor, mean: tf.Tensor1D, variance: tf.Tensor1D, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): tf.Tensor {
  return tf.engine().runKernel(BN_INFER, { x, mean, variance, scale, offset }, { epsilon }) as tf.Tensor
}
