/**
 * Native kernels for the wasm backend (native/: a Node-API addon, built by `npm install` where a C++ toolchain exists;
 * absent otherwise, and then the wasm kernels run as before).
 *
 * tfjs-backend-wasm runs on one thread with 128-bit SIMD (tfjs 4.22 turns wasm threads off under Node). The addon
 * runs the convolutions (Conv2D, FusedConv2D with bias + ReLU, conv + inference BatchNorm (+ a residual), both
 * gradients; 3x3 stride-1 ones from 32 channels through Winograd F(2x2, 3x3)), depthwise convolutions (channel
 * multiplier 1) and both their gradients, the BatchNorm channel loops, training BatchNorm (+ a residual) + ReLU / ReLU6
 * as one kernel each way, MaxPoolGrad, ReLU and ReLU6 and their gradients, Add, Slice, StridedSlice and PadV2, the
 * StridedSlice gradient (one scatter), and outside the kernels the SGD step (train/sgd.ts) and the BN running-statistics
 * update (nn/batchnorm.ts) of every parameter / layer in one call each, in place, with
 * AVX-512 / AVX2+FMA / generic
 * vector micro-kernels (chosen at run time from what the CPU has) on a pool of native threads, reading and writing
 * the tensors in place on the wasm heap: no copies, and tensors stay ordinary wasm tensors for every other kernel.
 * Float32 (channels-last for convolutions) only; anything else goes to the kernel it replaced.
 *
 * DAFT_NATIVE=0 disables it; DAFT_NATIVE_THREADS=n sets its thread count (default: all cores);
 * DAFT_NATIVE_ISA=avx512|avx2|generic picks a code path (tests check each against the cpu backend);
 * DAFT_NATIVE_WINOGRAD=0 and DAFT_NATIVE_FILTER_COLS=0 turn Winograd and the filter gradient by columns off (A/B runs).
 *
 * Longer than 400 lines on purpose: every addon kernel's glue (argument checks, fallbacks, heap offsets) next to the
 * Addon interface it calls, so a change to a native entry point and its one caller stay in one file.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { bnGradCoefficients, checkBnInputs, type ChannelLoops } from './bnLoops'
import { plainSliceShape } from './stridedSlice'
import type { TensorInfo } from './util'
import { type WasmBackend, heapF32, heapOf, offsetOf, onHeap, ownsData, wasmBackend } from './wasmInternals'

export interface NativeInfo {
  /** instruction set of the micro-kernels in use */
  isa: string
  threads: number
  /** every instruction set this CPU and build support, best first */
  isas: string[]
  /** direct convolutions (no im2col) where the output rows are long enough */
  direct: boolean
  /** the most a waiting pool thread spins (microseconds; 0 = never), and whether it spins now (not while another
   * process competes for the cores, judged by how late woken workers join) */
  spinUs: number
  spinning: boolean
  /** cumulative: parallel calls, the workers' wake-up delay and the caller's wait for them (microseconds) */
  poolCalls: number
  poolWakeUs: number
  poolTailUs: number
  /** cumulative microseconds inside addon calls, and inside their parallel sections (the rest runs on one thread) */
  addonUs: number
  parallelUs: number
  path: string
}

export interface Addon {
  conv2d(heap: ArrayBuffer, params: Float64Array, scale?: Float32Array | null, shift?: Float32Array | null, residual?: number): void
  conv2dBackpropFilter(heap: ArrayBuffer, params: Float64Array): void
  conv2dBackpropInput(heap: ArrayBuffer, params: Float64Array): void
  depthwiseConv2d(heap: ArrayBuffer, params: Float64Array): void
  depthwiseConv2dBackpropInput(heap: ArrayBuffer, params: Float64Array): void
  depthwiseConv2dBackpropFilter(heap: ArrayBuffer, params: Float64Array): void
  elementwise(heap: ArrayBuffer, params: Float64Array): void
  copyRegion(heap: ArrayBuffer, params: Float64Array): void
  bnSums(heap: ArrayBuffer, params: Float64Array, center: Float32Array, s: Float64Array, t: Float64Array): void
  bnAffine(heap: ArrayBuffer, params: Float64Array, a: Float32Array, b: Float32Array, g: Float32Array | null): void
  bnActAffine(heap: ArrayBuffer, params: Float64Array, a: Float32Array, b: Float32Array): void
  bnActSums(heap: ArrayBuffer, params: Float64Array, a: Float32Array, b: Float32Array, center: Float32Array, s: Float64Array, t: Float64Array): void
  bnActGrad(heap: ArrayBuffer, params: Float64Array, a: Float32Array, b: Float32Array, k1: Float32Array, k2: Float32Array, k3: Float32Array): void
  maxPoolGrad(heap: ArrayBuffer, params: Float64Array): void
  sgdStep(heap: ArrayBuffer, params: Float64Array): void
  blendStats(heap: ArrayBuffer, params: Float64Array): void
  info(): Omit<NativeInfo, 'path'>
  configure(threads?: number, isa?: string, direct?: number, filterCols?: number, winograd?: number, spinUs?: number): Omit<NativeInfo, 'path'>
}

const ADDON_FILE = 'daft_native.node'
let loaded: { addon: Addon; path: string } | null | undefined
let loadError = ''

/** Where the addon may be: next to the sources (dev, tests, serve), in a packaged app's resources, or DAFT_NATIVE_PATH. */
function candidates(): string[] {
  const list: string[] = []
  if (process.env.DAFT_NATIVE_PATH) list.push(process.env.DAFT_NATIVE_PATH)
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    list.push(join(dir, 'native', 'build', 'Release', ADDON_FILE))
    dir = dirname(dir)
  }
  const resources = (process as { resourcesPath?: string }).resourcesPath
  if (resources) list.push(join(resources, 'native', ADDON_FILE))
  return list
}

/** Loads the addon once (null when disabled or not built; `nativeLoadError()` says why). */
export function loadNative(): { addon: Addon; path: string } | null {
  if (loaded !== undefined) return loaded
  loaded = null
  if (process.env.DAFT_NATIVE === '0') {
    loadError = 'disabled by DAFT_NATIVE=0'
    return null
  }
  const path = candidates().find((p) => existsSync(p))
  if (!path) {
    loadError = `${ADDON_FILE} is not built (npm install builds it with node-gyp; needs a C++ compiler)`
    return null
  }
  try {
    const addon = createRequire(import.meta.url)(path) as Addon
    const threads = Number(process.env.DAFT_NATIVE_THREADS ?? 0)
    addon.configure(threads > 0 ? threads : 0, process.env.DAFT_NATIVE_ISA ?? '')
    loaded = { addon, path }
  } catch (e) {
    loadError = `${path} failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`
  }
  return loaded
}

export function nativeLoadError(): string {
  return loadError
}

export function nativeInfo(): NativeInfo | null {
  const n = loadNative()
  return n ? { ...n.addon.info(), path: n.path } : null
}

/**
 * Sets the thread count and/or instruction set (tests and benchmarks); returns the new state. filterCols picks the
 * filter gradient's way: 'auto' (by columns of dW where that is expected faster), 'rows' or 'columns' (always);
 * winograd the 3x3 stride-1 convolutions' (forward and input gradient): 'auto' (Winograd F(2x2, 3x3) from 8 channels
 * in and out), 'off', or 'force' (wherever it applies); spinUs the pool's spin limit (0 = sleep at once).
 */
export function configureNative(opts: { threads?: number; isa?: string; direct?: boolean; filterCols?: 'auto' | 'rows' | 'columns'; winograd?: 'auto' | 'off' | 'force'; spinUs?: number }): NativeInfo | null {
  const n = loadNative()
  const cols = opts.filterCols == null ? -1 : { rows: 0, auto: 1, columns: 2 }[opts.filterCols]
  const wino = opts.winograd == null ? -1 : { off: 0, auto: 1, force: 2 }[opts.winograd]
  return n ? { ...n.addon.configure(opts.threads ?? 0, opts.isa ?? '', opts.direct == null ? -1 : opts.direct ? 1 : 0, cols, wino, opts.spinUs ?? -1), path: n.path } : null
}

// ------------------------------------------------------------------------------------------------ wasm glue

// tfjs-wasm's internals come from wasmInternals.ts alone; registerTrainingKernels checks the backend (wasmBackend)
// before any kernel here is registered, so `args.backend as WasmBackendLike` is a checked type.
type WasmBackendLike = WasmBackend

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
interface ConvAttrs {
  strides: number | [number, number]
  pad: Pad
  dataFormat?: string
  dilations?: number | [number, number]
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }
type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[]

const channelsLast = (f: string | undefined): boolean => f == null || f === 'NHWC' || f === 'channelsLast'
const float4d = (...ts: TensorInfo[]): boolean => ts.every((t) => t.dtype === 'float32' && t.shape.length === 4 && t.shape.every((d) => d > 0))

function info(xShape: number[], filterShape: number[], a: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  )
}

/** n h w ci fh fw co oh ow sh sw dh dw padTop padLeft */
function shapeParams(c: tf.backend_util.Conv2DInfo): number[] {
  return [
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.filterHeight, c.filterWidth, c.outChannels,
    c.outHeight, c.outWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left,
  ]
}

/** runs the kernel a native one replaced, for the cases the native one does not take */
function delegateTo(previous: Record<string, tf.KernelConfig | undefined>): (name: string, args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (name, args) => {
    const k = previous[name]
    if (!k) throw new Error(`kernels/native: ${name} case not supported natively and the backend has no kernel for it`)
    return k.kernelFunc(args as never) as TensorInfo | TensorInfo[]
  }
}

/**
 * Conv2D, FusedConv2D (bias [co] or none; linear or relu), Conv2DBackpropFilter and Conv2DBackpropInput on the addon,
 * each falling back to `previous[name]` for cases it does not take.
 */
export function nativeConvKernels(addon: Addon, previous: Record<string, tf.KernelConfig | undefined>): Record<string, KernelFunc> {
  const fallback = delegateTo(previous)
  const forward = (name: string) => (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>
    const a = args.attrs as unknown as ConvAttrs & { activation?: string }
    const activation = a.activation ?? 'linear'
    const biasOk = bias == null || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter?.shape[3])
    if (!x || !filter || !channelsLast(a.dataFormat) || !float4d(x, filter) || !biasOk || preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu')) {
      return fallback(name, args)
    }
    const c = info(x.shape, filter.shape, a)
    const b = args.backend as WasmBackendLike
    const out = b.makeOutput(c.outShape, 'float32')
    // offsets after makeOutput: allocating may grow (and replace) the heap buffer
    const p = Float64Array.from([offsetOf(b, x), offsetOf(b, filter), bias ? offsetOf(b, bias) : -1, offsetOf(b, out), activation === 'relu' ? 1 : 0, ...shapeParams(c)])
    addon.conv2d(heapOf(b), p)
    return out
  }
  /** a conv gradient of output shape `outShape` for the convolution of xShape by filterShape (dilation 1) */
  const gradient = (
    name: 'Conv2DBackpropFilter' | 'Conv2DBackpropInput',
    args: KernelArgs,
    dy: TensorInfo,
    tensors: TensorInfo[],
    xShape: number[],
    filterShape: number[],
    outShape: number[],
    offsets: (b: WasmBackendLike, out: TensorInfo) => number[],
  ): TensorInfo | TensorInfo[] => {
    const a = args.attrs as unknown as ConvAttrs
    if (!channelsLast(a.dataFormat) || !float4d(...tensors)) return fallback(name, args)
    const c = info(xShape, filterShape, { ...a, dilations: 1 })
    if (dy.shape.some((d, i) => d !== c.outShape[i])) {
      throw new Error(`kernels/${name}: dy has shape [${dy.shape}] but the convolution output is [${c.outShape}]`)
    }
    const b = args.backend as WasmBackendLike
    const out = b.makeOutput(outShape, 'float32')
    const run = name === 'Conv2DBackpropFilter' ? addon.conv2dBackpropFilter : addon.conv2dBackpropInput
    run(heapOf(b), Float64Array.from([...offsets(b, out), ...shapeParams(c)]))
    return out
  }
  return {
    Conv2D: forward('Conv2D'),
    FusedConv2D: forward('FusedConv2D'),
    Conv2DBackpropFilter: (args) => {
      const { x, dy } = args.inputs as Record<string, TensorInfo>
      const a = args.attrs as unknown as ConvAttrs & { filterShape: number[] }
      return gradient('Conv2DBackpropFilter', args, dy, [x, dy], x.shape, a.filterShape, a.filterShape, (b, out) => [offsetOf(b, x), offsetOf(b, dy), offsetOf(b, out)])
    },
    Conv2DBackpropInput: (args) => {
      const { dy, filter } = args.inputs as Record<string, TensorInfo>
      const a = args.attrs as unknown as ConvAttrs & { inputShape: number[] }
      return gradient('Conv2DBackpropInput', args, dy, [dy, filter], a.inputShape, filter.shape, a.inputShape, (b, out) => [offsetOf(b, dy), offsetOf(b, filter), offsetOf(b, out)])
    },
  }
}

/**
 * DepthwiseConv2dNative and its two gradients on the addon for channel multiplier 1 (MobileNet's depthwise layers),
 * channels-last float32, at most 64 filter taps; anything else (multipliers > 1, NCHW) goes to `previous[name]`.
 */
export function nativeDepthwiseKernels(addon: Addon, previous: Record<string, tf.KernelConfig | undefined>): Record<string, KernelFunc> {
  const fallback = delegateTo(previous)
  const dwInfo = (xShape: number[], filterShape: number[], a: ConvAttrs): tf.backend_util.Conv2DInfo =>
    tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
      true,
      'channelsLast',
    )
  const takes = (a: ConvAttrs, filterShape: number[], ...ts: TensorInfo[]): boolean =>
    channelsLast(a.dataFormat) && float4d(...ts) && filterShape.length === 4 && filterShape[3] === 1 && filterShape[0] * filterShape[1] <= 64
  const run = (
    name: string,
    args: KernelArgs,
    c: tf.backend_util.Conv2DInfo,
    dy: TensorInfo | null,
    outShape: number[],
    call: (heap: ArrayBuffer, p: Float64Array) => void,
    offsets: (b: WasmBackendLike, out: TensorInfo) => number[],
  ): TensorInfo => {
    if (dy && dy.shape.some((d, i) => d !== c.outShape[i])) {
      throw new Error(`kernels/${name}: dy has shape [${dy.shape}] but the depthwise output is [${c.outShape}]`)
    }
    const b = args.backend as WasmBackendLike
    const out = b.makeOutput(outShape, 'float32')
    call(heapOf(b), Float64Array.from([...offsets(b, out), ...shapeParams(c)]))
    return out
  }
  return {
    DepthwiseConv2dNative: (args) => {
      const { x, filter } = args.inputs as Record<string, TensorInfo>
      const a = args.attrs as unknown as ConvAttrs
      if (!x || !filter || !takes(a, filter.shape, x, filter)) return fallback('DepthwiseConv2dNative', args)
      const c = dwInfo(x.shape, filter.shape, a)
      return run('DepthwiseConv2dNative', args, c, null, c.outShape, (h, p) => addon.depthwiseConv2d(h, p), (b, out) => [offsetOf(b, x), offsetOf(b, filter), offsetOf(b, out)])
    },
    DepthwiseConv2dNativeBackpropInput: (args) => {
      const { dy, filter } = args.inputs as Record<string, TensorInfo>
      const a = args.attrs as unknown as ConvAttrs & { inputShape: number[] }
      if (!takes(a, filter.shape, dy, filter)) return fallback('DepthwiseConv2dNativeBackpropInput', args)
      const c = dwInfo(a.inputShape, filter.shape, a)
      return run('DepthwiseConv2dNativeBackpropInput', args, c, dy, a.inputShape, (h, p) => addon.depthwiseConv2dBackpropInput(h, p), (b, out) => [offsetOf(b, dy), offsetOf(b, filter), offsetOf(b, out)])
    },
    DepthwiseConv2dNativeBackpropFilter: (args) => {
      const { x, dy } = args.inputs as Record<string, TensorInfo>
      const a = args.attrs as unknown as ConvAttrs & { filterShape: number[] }
      if (!takes(a, a.filterShape, x, dy)) return fallback('DepthwiseConv2dNativeBackpropFilter', args)
      const c = dwInfo(x.shape, a.filterShape, a)
      return run('DepthwiseConv2dNativeBackpropFilter', args, c, dy, a.filterShape, (h, p) => addon.depthwiseConv2dBackpropFilter(h, p), (b, out) => [offsetOf(b, x), offsetOf(b, dy), offsetOf(b, out)])
    },
  }
}

/** Kernel names of the one-pass ReLU / ReLU6 gradients (dy where 0 < x, resp. 0 < x <= 6); see registerReluGradient. */
export const RELU_GRAD = 'DaftReluGrad'
export const RELU6_GRAD = 'DaftRelu6Grad'

/**
 * The activations whose gradient is one masked pass on the addon: forward kernel, gradient kernel, the addon's
 * elementwise opcode for the gradient, and tfjs-core's formula where the backend has no gradient kernel.
 */
const ACTIVATION_GRADS = [
  { op: 'Relu', grad: RELU_GRAD, opcode: 2, formula: (g: tf.Tensor, x: tf.Tensor) => tf.mul(g, tf.cast(tf.step(x), 'float32')) },
  // tfjs-core: dy * cast(lessEqual(x, 6) * step(x)): four passes
  { op: 'Relu6', grad: RELU6_GRAD, opcode: 4, formula: (g: tf.Tensor, x: tf.Tensor) => tf.mul(g, tf.cast(tf.mul(tf.lessEqual(x, 6), tf.step(x)), 'float32')) },
] as const

/** The native activation-gradient kernels (DaftReluGrad, DaftRelu6Grad): inputs { dy, x } of the same shape, float32. */
export function nativeActivationGradKernels(addon: Addon): Record<string, KernelFunc> {
  return Object.fromEntries(
    ACTIVATION_GRADS.map(({ grad, opcode }) => [
      grad,
      (args: Parameters<KernelFunc>[0]) => {
        const { dy, x } = args.inputs as Record<string, TensorInfo>
        if (dy.dtype !== 'float32' || x.dtype !== 'float32' || tf.util.sizeFromShape(dy.shape) !== tf.util.sizeFromShape(x.shape)) {
          throw new Error(`kernels/${grad}: dy [${dy.shape}] ${dy.dtype} and x [${x.shape}] ${x.dtype} must be float32 of one size`)
        }
        const b = args.backend as WasmBackendLike
        const out = b.makeOutput(x.shape, 'float32')
        const n = tf.util.sizeFromShape(x.shape)
        if (n > 0) addon.elementwise(heapOf(b), Float64Array.from([opcode, offsetOf(b, dy), offsetOf(b, x), offsetOf(b, out), n]))
        return out
      },
    ]),
  )
}

/**
 * Relu's and Relu6's gradients as one kernel each where the active backend has it (tfjs-core runs Step, Cast and
 * Multiply, and more for ReLU6: several passes and activation-sized temporaries); elsewhere tfjs-core's formula.
 */
export function registerReluGradient(): void {
  for (const { op, grad, formula } of ACTIVATION_GRADS) {
    tf.registerGradient({
      kernelName: op,
      inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved
        const g = dy as tf.Tensor
        return { x: () => (tf.getKernel(grad, tf.getBackend()) ? (tf.engine().runKernel(grad, { dy: g, x }, {}) as tf.Tensor) : formula(g, x)) }
      },
    })
  }
}

/**
 * The BatchNorm channel loops (batchNorm.ts) on the addon: the same float64 sums and affine passes as the wasm SIMD
 * loops, split over the native threads (sums in fixed row chunks, so they do not change from run to run).
 */
export function nativeBatchNormLoops(addon: Addon): (backend: unknown, c: number) => ChannelLoops {
  return (backend, c) => {
    const b = wasmBackend(backend)
    const rows = (t: TensorInfo): number => tf.util.sizeFromShape(t.shape) / c
    const sums = (x: TensorInfo, o: TensorInfo | null, center: Float32Array): { s: Float64Array; t: Float64Array } => {
      const s = new Float64Array(c)
      const t = new Float64Array(c)
      addon.bnSums(heapOf(b), Float64Array.from([offsetOf(b, x), o ? offsetOf(b, o) : -1, rows(x), c]), center, s, t)
      return { s, t }
    }
    return {
      output: (shape) => b.makeOutput(shape, 'float32'),
      read: (t) => heapF32(b, t),
      sums: (x, center) => sums(x, null, center),
      dotSums: (x, o, center) => sums(x, o, center),
      affine(out, x, a, shift, y, g) {
        addon.bnAffine(heapOf(b), Float64Array.from([offsetOf(b, out), offsetOf(b, x), y ? offsetOf(b, y) : -1, rows(x), c]), a, shift, y && g ? g : null)
      },
    }
  }
}

/**
 * Add (same shapes), Relu, Slice, StridedSlice (plain: no masks, positive strides) and PadV2 (constant) on float32
 * tensors, threaded: the activation-sized passes a ResNet step makes besides its convolutions (residual adds and their
 * gradient sums, option-A shortcuts' subsampling and channel pads, and their gradients). Broadcasting adds, other
 * dtypes and anything unusual go to the kernel each replaces.
 */
export function nativeElementwiseKernels(addon: Addon, previous: Record<string, tf.KernelConfig | undefined>): Record<string, KernelFunc> {
  const fallback = delegateTo(previous)
  const region = (b: WasmBackendLike, src: TensorInfo, dst: TensorInfo, r: { srcBegin: number[]; dstBegin: number[]; size: number[]; step?: number[] }, fill: number): void => {
    const step = r.step ?? r.size.map(() => 1)
    addon.copyRegion(heapOf(b), Float64Array.from([offsetOf(b, src), offsetOf(b, dst), src.shape.length, ...src.shape, ...dst.shape, ...r.srcBegin, ...r.dstBegin, ...r.size, ...step, fill]))
  }
  const plain = (t: TensorInfo | undefined): t is TensorInfo => t != null && t.dtype === 'float32' && t.shape.length >= 1 && t.shape.length <= 6 && tf.util.sizeFromShape(t.shape) > 0
  return {
    Add: (args) => {
      const { a, b: bb } = args.inputs as Record<string, TensorInfo>
      if (!plain(a) || !plain(bb) || !tf.util.arraysEqual(a.shape, bb.shape)) return fallback('Add', args)
      const b = args.backend as WasmBackendLike
      const out = b.makeOutput(a.shape, 'float32')
      addon.elementwise(heapOf(b), Float64Array.from([0, offsetOf(b, a), offsetOf(b, bb), offsetOf(b, out), tf.util.sizeFromShape(a.shape)]))
      return out
    },
    Relu: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>
      if (!plain(x)) return fallback('Relu', args)
      const b = args.backend as WasmBackendLike
      const out = b.makeOutput(x.shape, 'float32')
      addon.elementwise(heapOf(b), Float64Array.from([1, offsetOf(b, x), -1, offsetOf(b, out), tf.util.sizeFromShape(x.shape)]))
      return out
    },
    Relu6: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>
      if (!plain(x)) return fallback('Relu6', args)
      const b = args.backend as WasmBackendLike
      const out = b.makeOutput(x.shape, 'float32')
      addon.elementwise(heapOf(b), Float64Array.from([3, offsetOf(b, x), -1, offsetOf(b, out), tf.util.sizeFromShape(x.shape)]))
      return out
    },
    Slice: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>
      if (!plain(x)) return fallback('Slice', args)
      const a = args.attrs as unknown as { begin: number | number[]; size: number | number[] }
      const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo & { rank: number }, a.begin, a.size)
      const b = args.backend as WasmBackendLike
      const out = b.makeOutput(size, 'float32')
      if (size.some((d) => d === 0)) return out
      region(b, x, out, { srcBegin: begin, dstBegin: size.map(() => 0), size }, NaN)
      return out
    },
    PadV2: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>
      const a = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number }
      if (!plain(x) || a.paddings.some(([lo, hi]) => lo < 0 || hi < 0)) return fallback('PadV2', args)
      const b = args.backend as WasmBackendLike
      const outShape = x.shape.map((d, i) => a.paddings[i][0] + d + a.paddings[i][1])
      const out = b.makeOutput(outShape, 'float32')
      region(b, x, out, { srcBegin: x.shape.map(() => 0), dstBegin: a.paddings.map(([lo]) => lo), size: x.shape }, a.constantValue ?? 0)
      return out
    },
    StridedSlice: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>
      const attrs = (args.attrs ?? {}) as tf.NamedAttrMap
      const size = plain(x) ? plainSliceShape(x.shape, attrs) : null
      if (!size) return fallback('StridedSlice', args)
      const b = args.backend as WasmBackendLike
      const out = b.makeOutput(size, 'float32')
      if (size.some((d) => d === 0)) return out
      region(b, x, out, { srcBegin: attrs.begin as number[], dstBegin: size.map(() => 0), size, step: attrs.strides as number[] }, NaN)
      return out
    },
  }
}

/** Kernel name of conv + inference-mode BatchNorm (+ ReLU) in one pass (nn/fold.ts, plain inference only). */
export const CONV_BATCH_NORM = 'DaftConvBatchNorm'

/**
 * DaftConvBatchNorm: inputs {x, filter, gamma, beta, mean, variance, bias?, residual?}, attrs {strides, pad, dilations,
 * dimRoundingMode, epsilon, activation: 'linear' | 'relu'} -> relu?(conv(x) * scale + shift (+ residual, a ResNet
 * block's shortcut of the output's shape)) with
 * scale = gamma / sqrt(variance + eps), shift = beta - mean * scale (+ bias * scale): the BatchNorm folded into the
 * convolution's output pass instead of into a copy of the filter (a ResNet-18 forward would otherwise rescale 11 M
 * weights per batch). No gradient: nn/fold.ts uses it only when no tape is recording.
 */
export function nativeConvBatchNormKernel(addon: Addon): KernelFunc {
  return (args) => {
    const { x, filter, gamma, beta, mean, variance, bias, residual } = args.inputs as Record<string, TensorInfo | undefined>
    const a = args.attrs as unknown as ConvAttrs & { epsilon: number; activation: string }
    if (!x || !filter || !gamma || !beta || !mean || !variance) throw new Error(`kernels/${CONV_BATCH_NORM}: x, filter, gamma, beta, mean and variance are required`)
    if (!channelsLast(a.dataFormat) || !float4d(x, filter) || (a.activation !== 'relu' && a.activation !== 'linear')) {
      throw new Error(`kernels/${CONV_BATCH_NORM}: float32 NHWC input and a linear or relu activation only`)
    }
    const co = filter.shape[3]
    for (const [name, t] of Object.entries({ gamma, beta, mean, variance, bias })) {
      if (t && (t.dtype !== 'float32' || t.shape.length !== 1 || t.shape[0] !== co)) throw new Error(`kernels/${CONV_BATCH_NORM}: ${name} must be float32 [${co}], got [${t.shape}]`)
    }
    const c = info(x.shape, filter.shape, a)
    if (residual && (residual.dtype !== 'float32' || !tf.util.arraysEqual(residual.shape, c.outShape))) {
      throw new Error(`kernels/${CONV_BATCH_NORM}: residual must be float32 [${c.outShape}], got [${residual.shape}]`)
    }
    const b = args.backend as WasmBackendLike
    const out = b.makeOutput(c.outShape, 'float32')
    const [g, be, mu, v] = [gamma, beta, mean, variance].map((t) => heapF32(b, t))
    const cb = bias ? heapF32(b, bias) : null
    const scale = new Float32Array(co)
    const shift = new Float32Array(co)
    for (let k = 0; k < co; k++) {
      scale[k] = g[k] / Math.sqrt(v[k] + a.epsilon)
      shift[k] = be[k] - mu[k] * scale[k] + (cb ? cb[k] * scale[k] : 0)
    }
    const p = Float64Array.from([offsetOf(b, x), offsetOf(b, filter), -1, offsetOf(b, out), a.activation === 'relu' ? 1 : 0, ...shapeParams(c)])
    addon.conv2d(heapOf(b), p, scale, shift, residual ? offsetOf(b, residual) : -1)
    return out
  }
}

// ------------------------------------------------------------------------------------------------ BatchNorm + activation

/** Kernel names of training-mode BatchNorm followed by ReLU / ReLU6 in one pass each way (nn/batchnorm.ts). */
export const BN_TRAIN_ACT = 'DaftBatchNormTrainAct'
export const BN_TRAIN_ACT_GRAD = 'DaftBatchNormTrainActGrad'
export const BN_TRAIN_ADD_ACT = 'DaftBatchNormTrainAddAct'
export const BN_TRAIN_ADD_ACT_GRAD = 'DaftBatchNormTrainAddActGrad'
export type BnActivation = 'linear' | 'relu' | 'relu6'
const ACT_CODE: Record<BnActivation, number> = { linear: 0, relu: 1, relu6: 2 }

/**
 * a = gamma / sqrt(variance + eps), b = beta - mean * a (float32), from the float32 batch statistics the forward returns:
 * the gradient computes them again from the same tensors with this same function, so it recomputes y = x * a + b
 * bit for bit and its activation mask is the forward's.
 */
function bnCoefficients(g: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): { a: Float32Array; b: Float32Array } {
  const c = g.length
  const a = new Float32Array(c)
  const b = new Float32Array(c)
  for (let k = 0; k < c; k++) {
    a[k] = g[k] / Math.sqrt(variance[k] + eps)
    b[k] = beta[k] - mean[k] * a[k]
  }
  return { a, b }
}

function bnActArgs(kernel: string, x: TensorInfo, vectors: Record<string, TensorInfo>, attrs: tf.NamedAttrMap | undefined, others: Record<string, TensorInfo> = {}): { c: number; rows: number; eps: number; act: number } {
  const c = checkBnInputs(kernel, x, vectors, others)
  const a = (attrs ?? {}) as { epsilon?: number; activation?: string }
  const act = ACT_CODE[(a.activation ?? 'linear') as BnActivation]
  if (act == null) throw new Error(`kernels/${kernel}: activation must be linear, relu or relu6, got ${a.activation}`)
  return { c, rows: tf.util.sizeFromShape(x.shape) / c, eps: Number(a.epsilon), act }
}

/**
 * DaftBatchNormTrainAct {x, scale, offset}, {epsilon, activation} -> [act(BN(x)), mean, variance] (batch statistics,
 * biased variance; as BatchNormTrainNHWC then Relu / Relu6), and its gradient DaftBatchNormTrainActGrad
 * {dy, x, scale, offset, mean, variance} -> [dx, dscale, doffset]: the activation's mask is recomputed from x, so
 * neither the BN output nor the activation's input is kept for the backward pass, and the ReLU gradient is not a pass
 * of its own. Forward: two reads of x, one write; backward: two reads of x and dy, one write.
 * DaftBatchNormTrainAddAct {x, scale, offset, residual} -> [act(BN(x) + residual), mean, variance] is a ResNet block's
 * tail (BN, the shortcut added, ReLU) the same way; its gradient {dy, x, scale, offset, mean, variance, residual} ->
 * [dx, dscale, doffset, dresidual] also reads the residual (for the mask) and writes the residual's gradient.
 */
export function nativeBatchNormActKernels(addon: Addon): Record<string, KernelFunc> {
  const forward = (kernel: string, withResidual: boolean): KernelFunc => (args) => {
    const { x, scale, offset, residual } = args.inputs as Record<string, TensorInfo>
    if (withResidual && !residual) throw new Error(`kernels/${kernel}: residual is required`)
    const { c, rows, eps, act } = bnActArgs(kernel, x, { scale, offset }, args.attrs, withResidual ? { residual } : {})
    const b = args.backend as WasmBackendLike
    const outs = [b.makeOutput(x.shape, 'float32'), b.makeOutput([c], 'float32'), b.makeOutput([c], 'float32')]
    // sums shifted by the first row, in float64 (as BatchNormTrainNHWC)
    const first = heapF32(b, x).slice(0, c)
    const s = new Float64Array(c)
    const t = new Float64Array(c)
    addon.bnSums(heapOf(b), Float64Array.from([offsetOf(b, x), -1, rows, c]), first, s, t)
    const meanOut = heapF32(b, outs[1])
    const varOut = heapF32(b, outs[2])
    for (let k = 0; k < c; k++) {
      const d = s[k] / rows
      meanOut[k] = first[k] + d
      varOut[k] = Math.max(0, t[k] / rows - d * d)
    }
    const { a, b: shift } = bnCoefficients(heapF32(b, scale), heapF32(b, offset), meanOut, varOut, eps)
    const res = withResidual ? offsetOf(b, residual) : -1
    addon.bnActAffine(heapOf(b), Float64Array.from([offsetOf(b, outs[0]), offsetOf(b, x), rows, c, act, res]), a, shift)
    return outs
  }
  const gradient = (kernel: string, withResidual: boolean): KernelFunc => (args) => {
    const { dy, x, scale, offset, mean, variance, residual } = args.inputs as Record<string, TensorInfo>
    if (withResidual && !residual) throw new Error(`kernels/${kernel}: residual is required`)
    const { c, rows, eps, act } = bnActArgs(kernel, x, { scale, offset, mean, variance }, args.attrs, withResidual ? { dy, residual } : { dy })
    const b = args.backend as WasmBackendLike
    const outs = [b.makeOutput(x.shape, 'float32'), b.makeOutput([c], 'float32'), b.makeOutput([c], 'float32')]
    if (withResidual) outs.push(b.makeOutput(x.shape, 'float32'))
    const [g, beta, mu, v] = [scale, offset, mean, variance].map((t) => heapF32(b, t).slice())
    const { a, b: shift } = bnCoefficients(g, beta, mu, v, eps)
    const res = withResidual ? offsetOf(b, residual) : -1
    const sg = new Float64Array(c)
    const sgx = new Float64Array(c)
    addon.bnActSums(heapOf(b), Float64Array.from([offsetOf(b, x), offsetOf(b, dy), rows, c, act, res]), a, shift, mu, sg, sgx)
    // with g = the activation's gradient: dx = gamma*r*(g - mean(g) - xhat*mean(g*xhat)) = k1*g + k2*x + k3
    const { k1, k2, k3 } = bnGradCoefficients(g, mu, v, sg, sgx, eps, rows, heapF32(b, outs[1]), heapF32(b, outs[2]))
    const dres = withResidual ? offsetOf(b, outs[3]) : -1
    addon.bnActGrad(heapOf(b), Float64Array.from([offsetOf(b, outs[0]), offsetOf(b, x), offsetOf(b, dy), rows, c, act, res, dres]), a, shift, k1, k2, k3)
    return outs
  }
  return {
    [BN_TRAIN_ACT]: forward(BN_TRAIN_ACT, false),
    [BN_TRAIN_ACT_GRAD]: gradient(BN_TRAIN_ACT_GRAD, false),
    [BN_TRAIN_ADD_ACT]: forward(BN_TRAIN_ADD_ACT, true),
    [BN_TRAIN_ADD_ACT_GRAD]: gradient(BN_TRAIN_ADD_ACT_GRAD, true),
  }
}

let bnActGradientRegistered = false

function registerBatchNormActGradient(): void {
  if (bnActGradientRegistered) return
  bnActGradientRegistered = true
  tf.registerGradient({
    kernelName: BN_TRAIN_ACT,
    inputsToSave: ['x', 'scale', 'offset'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor
      const [x, scale, offset, mean, variance] = saved
      const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_ACT_GRAD, { dy, x, scale, offset, mean, variance }, attrs) as tf.Tensor[]
      return { x: () => dx, scale: () => dscale, offset: () => doffset }
    },
  })
  tf.registerGradient({
    kernelName: BN_TRAIN_ADD_ACT,
    inputsToSave: ['x', 'scale', 'offset', 'residual'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor
      const [x, scale, offset, residual, mean, variance] = saved
      const [dx, dscale, doffset, dres] = tf.engine().runKernel(BN_TRAIN_ADD_ACT_GRAD, { dy, x, scale, offset, mean, variance, residual }, attrs) as tf.Tensor[]
      return { x: () => dx, scale: () => dscale, offset: () => doffset, residual: () => dres }
    },
  })
}

/** True when the active backend runs training-mode BatchNorm + activation as one kernel (else BN, then the activation). */
export function hasBatchNormTrainAct(): boolean {
  return tf.getKernel(BN_TRAIN_ACT, tf.getBackend()) != null
}

/**
 * act(training-mode BN(x) (+ residual)) with the batch mean and biased variance, on the fused kernels
 * (hasBatchNormTrainAct()).
 */
export function batchNormTrainAct(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number, activation: BnActivation, residual?: tf.Tensor): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const [y, mean, variance] = (residual
    ? tf.engine().runKernel(BN_TRAIN_ADD_ACT, { x, scale, offset, residual }, { epsilon, activation })
    : tf.engine().runKernel(BN_TRAIN_ACT, { x, scale, offset }, { epsilon, activation })) as tf.Tensor[]
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D }
}

// ------------------------------------------------------------------------------------------------ MaxPoolGrad

/**
 * MaxPoolGrad {dy, input, output}, {filterSize, strides, pad, dimRoundingMode} on the addon (float32 NHWC, at most 64
 * taps; the rest goes to `previous`): each dy to the first maximum of its window, as tfjs's cpu backend. tfjs-wasm's
 * own took ~130 ms for ResNet-18's stem pool at 64 px, batch 64 (one thread, scalar).
 */
export function nativeMaxPoolGradKernel(addon: Addon, previous: tf.KernelConfig | undefined): KernelFunc {
  const fallback = delegateTo({ MaxPoolGrad: previous })
  return (args) => {
    const { dy, input } = args.inputs as Record<string, TensorInfo>
    const a = args.attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number]; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil' }
    if (!dy || !input || !float4d(dy, input)) return fallback('MaxPoolGrad', args)
    const c = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad as never, a.dimRoundingMode)
    if (c.filterHeight * c.filterWidth > 64 || c.dilationHeight !== 1 || c.dilationWidth !== 1) return fallback('MaxPoolGrad', args)
    if (dy.shape.some((d, i) => d !== c.outShape[i])) throw new Error(`kernels/MaxPoolGrad: dy has shape [${dy.shape}] but the pool output is [${c.outShape}]`)
    const b = args.backend as WasmBackendLike
    const out = b.makeOutput(input.shape, 'float32')
    addon.maxPoolGrad(heapOf(b), Float64Array.from([offsetOf(b, input), offsetOf(b, dy), offsetOf(b, out), ...shapeParams(c)]))
    return out
  }
}

/**
 * Registers, on wasm, the native MaxPoolGrad (keeping the kernel it replaces for what it does not take), the fused
 * training BatchNorm (+ residual) + activation kernels and their gradients. Returns the registered names.
 */
export function registerNativeTrainingExtras(addon: Addon): string[] {
  sgdAddon = addon
  if (!tf.getKernel(STRIDED_SLICE_GRAD, 'wasm')) tf.registerKernel({ kernelName: STRIDED_SLICE_GRAD, backendName: 'wasm', kernelFunc: nativeStridedSliceGradKernel(addon) as unknown as tf.KernelFunc })
  const previous = tf.getKernel('MaxPoolGrad', 'wasm')
  if (previous) tf.unregisterKernel('MaxPoolGrad', 'wasm')
  tf.registerKernel({ kernelName: 'MaxPoolGrad', backendName: 'wasm', setupFunc: previous?.setupFunc, kernelFunc: nativeMaxPoolGradKernel(addon, previous) as unknown as tf.KernelFunc })
  for (const [kernelName, kernelFunc] of Object.entries(nativeBatchNormActKernels(addon))) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc })
  }
  registerBatchNormActGradient()
  return ['MaxPoolGrad', BN_TRAIN_ACT, BN_TRAIN_ACT_GRAD, BN_TRAIN_ADD_ACT, BN_TRAIN_ADD_ACT_GRAD, STRIDED_SLICE_GRAD]
}

// ------------------------------------------------------------------------------------------------ StridedSlice gradient

/**
 * DaftStridedSliceGrad: input {dy} (the slice's values, of shape `size`), attrs {shape, begin, strides} (positive
 * strides) -> dx of `shape`: zeros, with dy scattered to begin + i * strides (one pass where the tf-ops gradient in
 * stridedSliceGrad.ts dilates and pads axis by axis: 3 pads and 2 slices for an option-A shortcut's subsampling).
 */
export const STRIDED_SLICE_GRAD = 'DaftStridedSliceGrad'

function nativeStridedSliceGradKernel(addon: Addon): KernelFunc {
  return (args) => {
    const { dy } = args.inputs as Record<string, TensorInfo>
    const a = args.attrs as unknown as { shape: number[]; begin: number[]; strides: number[] }
    const rank = a.shape.length
    if (dy.dtype !== 'float32' || dy.shape.length !== rank || rank < 1 || rank > 6 || a.strides.some((st) => st < 1)) {
      throw new Error(`kernels/${STRIDED_SLICE_GRAD}: float32 dy of the input's rank (1 to 6) and positive strides only`)
    }
    const b = args.backend as WasmBackendLike
    const out = b.makeOutput(a.shape, 'float32')
    if (tf.util.sizeFromShape(a.shape) === 0) return out
    const ones = a.shape.map(() => 1)
    addon.copyRegion(heapOf(b), Float64Array.from([offsetOf(b, dy), offsetOf(b, out), rank, ...dy.shape, ...a.shape, ...a.shape.map(() => 0), ...a.begin, ...dy.shape, ...ones, 0, ...a.strides]))
    return out
  }
}

// ------------------------------------------------------------------------------------------------ SGD

let sgdAddon: Addon | null = null

/** One parameter's SGD update for nativeSgdStep (see train/sgd.ts for the arithmetic). */
export interface NativeSgdItem {
  param: tf.Variable
  grad: tf.Tensor
  /** the momentum buffer (updated in place: the optimiser's own, read by nothing else), null without momentum */
  buffer: tf.Tensor | null
  /** the parameter's first step: the buffer is set to d_p (its contents are not read) */
  first: boolean
  lr: number
  weightDecay: number
}

/** Whether nativeSgdStep runs now: the addon's kernels are registered and the backend is wasm. */
export function hasNativeSgd(): boolean {
  return sgdAddon != null && tf.getBackend() === 'wasm'
}

/**
 * Whether nativeSgdStep may take this parameter: float32 parameter and gradient of one size on the wasm backend, and a
 * momentum buffer (when it has one) whose data no other tensor shares, since the step writes it in place (a first
 * step through tfjs ops leaves the buffer a clone of d_p, which shares the gradient's data: that one goes through
 * tfjs ops once more).
 */
export function nativeSgdAccepts(param: tf.Tensor, grad: tf.Tensor, buffer?: tf.Tensor): boolean {
  if (!hasNativeSgd() || param.dtype !== 'float32' || grad.dtype !== 'float32' || param.size !== grad.size) return false
  const b = wasmBackend(tf.backend())
  if (buffer && !(buffer.dtype === 'float32' && buffer.size === param.size && ownsData(b, buffer))) return false
  return onHeap(b, param) && onHeap(b, grad)
}

/** A new float32 tensor on the wasm backend, its contents left to the addon to write. */
function newOutput(b: WasmBackend, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(b.makeOutput(shape, 'float32'))
}

/**
 * target.assign(target * keep + (batch * scale) * take) for every item in order (scale defaults to 1), all computed in
 * one addon call (BatchNorm's running statistics, keep = 1 - momentum, take = momentum, scale = n / (n - 1) to make a
 * batch variance unbiased), rounded as tfjs's Multiply, Multiply, (Multiply,) Add; a target that
 * appears again (a layer run on several micro-batches) blends the previous item's result. Every target gets a new
 * tensor, as tfjs ops would give it: never written in place, since tfjs kernels may cache what they derive from a
 * tensor. Returns false, changing nothing, unless every target and batch is a float32 tensor of one size on wasm.
 */
export function nativeBlendStats(items: { target: tf.Variable; batch: tf.Tensor; keep: number; take: number; scale?: number }[]): boolean {
  if (!hasNativeSgd() || !sgdAddon) return false
  const b = wasmBackend(tf.backend())
  const ok = (it: (typeof items)[number]): boolean =>
    it.target.dtype === 'float32' && onHeap(b, it.target) && it.batch.dtype === 'float32' && it.batch.size === it.target.size && onHeap(b, it.batch)
  if (!items.every(ok)) return false
  const outs = items.map((it) => newOutput(b, it.target.shape))
  // the addon runs the items in order on one thread: a repeated target reads the output of its previous item
  const current = new Map<tf.Variable, number>() // target -> index of its latest item
  const p = new Float64Array(1 + 7 * items.length)
  p[0] = items.length
  items.forEach((it, i) => {
    const previous = current.get(it.target)
    p.set([offsetOf(b, previous === undefined ? it.target : outs[previous]), offsetOf(b, it.batch), it.target.size, it.keep, it.take, offsetOf(b, outs[i]), it.scale ?? 1], 1 + 7 * i)
    current.set(it.target, i)
  })
  try {
    sgdAddon.blendStats(heapOf(b), p)
    for (const [target, i] of current) target.assign(outs[i])
  } finally {
    tf.dispose(outs)
  }
  return true
}

/**
 * PyTorch's SGD step (dampening 0, no Nesterov) for every item in one addon call: d = g + wd * p;
 * buf = first ? d : momentum * buf + d (the buffer in place); p.assign(p - lr * buf) (p - lr * d without a buffer),
 * each product and sum rounded to float32 as the tfjs ops do. Each parameter gets a new tensor, as v.assign(v.sub(..))
 * gives it: tfjs kernels may cache what they derive from a tensor (packed matmul and conv weights) for as long as it
 * lives, so a parameter is never written in place. Items must pass nativeSgdAccepts.
 */
export function nativeSgdStep(items: NativeSgdItem[], momentum: number): void {
  if (!sgdAddon) throw new Error('kernels/native: the addon is not loaded')
  const b = wasmBackend(tf.backend())
  for (const it of items) {
    if (it.buffer && (it.buffer.dtype !== 'float32' || it.buffer.size !== it.param.size)) throw new Error('kernels/native: an SGD momentum buffer does not match its parameter')
  }
  const outs = items.map((it) => newOutput(b, it.param.shape))
  const p = new Float64Array(2 + 8 * items.length)
  p[0] = items.length
  p[1] = momentum
  items.forEach((it, i) => {
    p.set([offsetOf(b, it.param), offsetOf(b, it.grad), it.buffer ? offsetOf(b, it.buffer) : -1, it.param.size, it.lr, it.weightDecay, it.first ? 1 : 0, offsetOf(b, outs[i])], 2 + 8 * i)
  })
  try {
    sgdAddon.sgdStep(heapOf(b), p)
    items.forEach((it, i) => it.param.assign(outs[i]))
  } finally {
    tf.dispose(outs)
  }
}
