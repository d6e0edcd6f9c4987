/**
 * Registers the kernels (and the one gradient) a conv net needs to TRAIN that a tfjs backend lacks, or runs far
 * slower than it could.
 * wasm 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input or UnsortedSegmentSum, and its
 * Conv2DBackpropInput, Tile and StridedSlice are scalar loops and its Identity copies; cpu has everything, but its
 * UnsortedSegmentSum makes numSegments passes. Both get fused channels-last BatchNorm kernels (batchNorm.ts).
 */
import * as tf from '@tensorflow/tfjs'
import { registerBatchNormKernels } from './batchNorm'
import { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } from './conv2dBackprop'
import { depthwiseConv2dNativeBackpropFilterWasm, depthwiseConv2dNativeBackpropInputWasm } from './depthwiseBackprop'
import { registerStridedSliceGradient } from './stridedSliceGrad'
import { makeIdentityShared } from './identity'
import { makeStridedSliceWasm } from './stridedSlice'
import { CONV_BATCH_NORM, RELU6_GRAD, RELU_GRAD, type Addon, loadNative, nativeBatchNormLoops, nativeConvKernels, nativeConvBatchNormKernel, nativeDepthwiseKernels, nativeElementwiseKernels, nativeActivationGradKernels, registerNativeTrainingExtras, registerReluGradient } from './native'
import { makeTileWasm } from './tile'
import { unsortedSegmentSumCpu, unsortedSegmentSumWasm } from './unsortedSegmentSum'
import { heapLoopsFor } from './wasm/heapLoops'
import { wasmBackend } from './wasmInternals'
import { installTapeSaves } from './tapeSaves'
import type { KernelBackendLike, TensorInfo } from './util'

export type TrainingKernelBackend = 'wasm' | 'cpu' | 'tensorflow'

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }
type Body = (backendName: string, backend: KernelBackendLike, inputs: never, attrs: never) => TensorInfo

interface Entry {
  kernelName: string
  kernelFunc: (args: KernelArgs) => TensorInfo
  /** Replace the backend's own kernel even when it has one (only where ours is measured faster). */
  replace: boolean
}

function adapt(backendName: string, body: Body): (args: KernelArgs) => TensorInfo {
  return ({ inputs, backend, attrs }) => body(backendName, backend as KernelBackendLike, inputs as never, attrs as never)
}

function entriesFor(backendName: TrainingKernelBackend, native: boolean): Entry[] {
  if (backendName === 'wasm') {
    // the conv gradients: the addon's when it is built (registerNativeKernels), else conv2dBackprop.ts's; one each
    const convGradients: Entry[] = native
      ? []
      : [
          { kernelName: 'Conv2DBackpropFilter', kernelFunc: adapt('wasm', conv2DBackpropFilterWasm as Body), replace: false },
          { kernelName: 'Conv2DBackpropInput', kernelFunc: adapt('wasm', conv2DBackpropInputWasm as Body), replace: true },
        ]
    return [
      ...convGradients,
      {
        kernelName: 'DepthwiseConv2dNativeBackpropFilter',
        kernelFunc: adapt('wasm', depthwiseConv2dNativeBackpropFilterWasm as Body),
        replace: false,
      },
      {
        kernelName: 'DepthwiseConv2dNativeBackpropInput',
        kernelFunc: adapt('wasm', depthwiseConv2dNativeBackpropInputWasm as Body),
        replace: false,
      },
      { kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSumWasm, replace: false },
      { kernelName: 'Tile', kernelFunc: makeTileWasm(tf.getKernel('Tile', 'wasm')), replace: true },
      { kernelName: 'StridedSlice', kernelFunc: makeStridedSliceWasm(tf.getKernel('StridedSlice', 'wasm')), replace: true },
      { kernelName: 'Identity', kernelFunc: makeIdentityShared(tf.getKernel('Identity', 'wasm')), replace: true },
    ]
  }
  if (backendName === 'cpu') {
    return [{ kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSumCpu, replace: true }]
  }
  return [] // tensorflow (libtensorflow) has every kernel; only the gradient below is needed
}

const registered = new Map<string, string[]>()
let registeredGradient = false

/**
 * Registers the custom training kernels for `backendName` (once; later calls return the same list).
 * Returns the names of the kernels now provided by this module, e.g. ['Conv2DBackpropFilter', ...].
 */
export function registerTrainingKernels(backendName: TrainingKernelBackend): string[] {
  const done = registered.get(backendName)
  if (done) return [...done]
  const names: string[] = []
  // backend-independent: tfjs 4.22 has no gradient for StridedSlice (reported as 'StridedSlice (gradient)')
  if (registerStridedSliceGradient() || registeredGradient) {
    registeredGradient = true
    names.push('StridedSlice (gradient)')
  }
  // the wasm kernels below reach tfjs-wasm's internals: check them first (a clear error naming the tfjs version)
  if (backendName === 'wasm') heapLoopsFor(wasmBackend(tf.findBackend('wasm')))
  const native = backendName === 'wasm' ? loadNative() : null
  for (const entry of entriesFor(backendName, native != null)) {
    const existing = tf.getKernel(entry.kernelName, backendName)
    if (existing && !entry.replace) continue
    if (existing) tf.unregisterKernel(entry.kernelName, backendName)
    tf.registerKernel({
      kernelName: entry.kernelName,
      backendName,
      // keep the original's setup (it cwraps wasm functions other kernels may share)
      setupFunc: existing?.setupFunc,
      kernelFunc: entry.kernelFunc as unknown as tf.KernelFunc,
    })
    names.push(entry.kernelName)
  }
  // fused channels-last BatchNorm (forward + gradient), used by nn/batchnorm.ts when present: the cpu backend's JS
  // loops, on wasm the addon's threaded loops when it is built, else the wasm SIMD loops (bench:kernels)
  if (backendName === 'wasm' || backendName === 'cpu') {
    const bn = registerBatchNormKernels(backendName, native ? nativeBatchNormLoops(native.addon) : undefined)
    names.push(...(native ? bn.map((n) => `${n} (native)`) : bn))
  }
  if (native) names.push(...registerNativeKernels(native.addon))
  // saved tensors of the gradient tape without an Identity kernel and two tape nodes each (tapeSaves.ts; not a kernel,
  // so not in the list; another tfjs-core version keeps the engine's own saves)
  if (backendName === 'wasm' || backendName === 'cpu') installTapeSaves()
  registered.set(backendName, names)
  return [...names]
}

/**
 * On wasm, the native addon (native.ts) takes over Conv2D, FusedConv2D, both Conv2D gradients, DepthwiseConv2dNative
 * and both its gradients, Add, Relu, Relu6, Slice, StridedSlice and PadV2 when it is built, each keeping the kernel it
 * replaced for the cases it does not handle (for the Conv2D gradients that is tfjs-wasm's own: conv2dBackprop.ts is
 * not registered when the addon is), and adds the one-pass ReLU and ReLU6 gradients and the inference
 * conv + BatchNorm kernel.
 */
function registerNativeKernels(addon: Addon): string[] {
  const names = [
    'Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter', 'Add', 'Relu', 'Relu6', 'Slice', 'StridedSlice', 'PadV2',
  ]
  const previous = Object.fromEntries(names.map((n) => [n, tf.getKernel(n, 'wasm')]))
  const funcs: Record<string, unknown> = { ...nativeConvKernels(addon, previous), ...nativeDepthwiseKernels(addon, previous), ...nativeElementwiseKernels(addon, previous) }
  for (const name of names) {
    const existing = previous[name]
    if (existing) tf.unregisterKernel(name, 'wasm')
    tf.registerKernel({ kernelName: name, backendName: 'wasm', setupFunc: existing?.setupFunc, kernelFunc: funcs[name] as unknown as tf.KernelFunc })
  }
  for (const [kernelName, kernelFunc] of Object.entries(nativeActivationGradKernels(addon))) {
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc })
  }
  tf.registerKernel({ kernelName: CONV_BATCH_NORM, backendName: 'wasm', kernelFunc: nativeConvBatchNormKernel(addon) as unknown as tf.KernelFunc })
  registerReluGradient()
  // MaxPoolGrad, training BatchNorm + ReLU / ReLU6 as one kernel each way (native.ts)
  const extras = registerNativeTrainingExtras(addon)
  return [...names, RELU_GRAD, RELU6_GRAD, CONV_BATCH_NORM, ...extras].map((n) => `${n} (native)`)
}

export { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } from './conv2dBackprop'
export { depthwiseConv2dNativeBackpropFilterWasm, depthwiseConv2dNativeBackpropInputWasm } from './depthwiseBackprop'
export { CONV_BATCH_NORM, loadNative, nativeInfo, configureNative, nativeLoadError } from './native'
export { unsortedSegmentSumValues } from './unsortedSegmentSum'
export { stridedSliceGradient } from './stridedSliceGrad'
export { batchNormTrain, batchNormInfer, hasFastBatchNorm, registerBatchNormKernels } from './batchNorm'
