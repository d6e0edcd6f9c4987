/**
 * Shared plumbing for the custom training kernels: calling other registered kernels of the same backend
 * from inside a kernelFunc (no engine, no tape, no tidy: plain TensorInfos that we dispose ourselves),
 * and the two building blocks every conv backward pass here uses.
 */
import * as tf from '@tensorflow/tfjs'
import { isWasmBackend, wasmBackend } from './wasmInternals'

export type TensorInfo = tf.TensorInfo
/** Named inputs, or a list for kernels such as Concat that take one. */
type NamedInputs = Record<string, TensorInfo> | TensorInfo[]
type Attrs = Record<string, unknown>

/** The slice of a tfjs KernelBackend the custom kernels rely on (wasm and cpu both provide it). */
export interface KernelBackendLike {
  disposeData(dataId: object, force?: boolean): boolean
  readSync(dataId: object): tf.backend_util.BackendValues
}

/**
 * Runs registered kernels of one backend directly (kernel registry -> kernelFunc), the way tfjs-backend-wasm's
 * own kernels call each other. Every TensorInfo it returns is owned by the caller: pass it to `dispose` unless it is
 * the kernel's output. Nothing here touches the engine, so nothing is recorded on the gradient tape.
 */
export class KernelRunner {
  private readonly owned: TensorInfo[] = []

  constructor(
    readonly backendName: string,
    readonly backend: KernelBackendLike,
  ) {}

  run(kernelName: string, inputs: NamedInputs, attrs: Attrs = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, this.backendName)
    if (kernel == null) {
      throw new Error(`kernels/util: kernel '${kernelName}' is not registered for backend '${this.backendName}'`)
    }
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      attrs: attrs as tf.NamedAttrMap,
      backend: this.backend as never,
    }) as TensorInfo | TensorInfo[]
    if (Array.isArray(out)) throw new Error(`kernels/util: kernel '${kernelName}' returned several outputs`)
    this.owned.push(out)
    return out
  }

  /** Takes ownership of a TensorInfo made outside `run` (e.g. with the backend's makeOutput). */
  adopt(t: TensorInfo): TensorInfo {
    this.owned.push(t)
    return t
  }

  /** Marks `result` as the kernel's output and disposes every other intermediate created through this runner. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.owned) {
      if (t !== result) this.backend.disposeData(t.dataId)
    }
    this.owned.length = 0
    return result
  }

  /** Disposes every intermediate (used when a kernel throws half-way). */
  abort(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId)
    this.owned.length = 0
  }

  /**
   * filter[fh, fw, ...] with both spatial axes reversed: fh*fw block copies on the wasm heap (wasm's Reverse and
   * GatherV2 are element loops: ~80-180 ms for a 3x3x512x512 filter); other backends use their Reverse kernel.
   */
  flipSpatial(filter: TensorInfo): TensorInfo {
    const [fh, fw] = filter.shape
    const taps = fh * fw
    if (taps === 1) return filter
    if (!isWasmBackend(this.backend)) return this.run('Reverse', { x: filter }, { dims: [0, 1] })
    const b = wasmBackend(this.backend)
    const out = b.makeOutput(filter.shape, filter.dtype)
    this.owned.push(out)
    // views after makeOutput: allocating may grow (and detach) the heap buffer
    const src = b.typedArrayFromHeap(filter)
    const dst = b.typedArrayFromHeap(out)
    const row = src.length / taps
    for (let i = 0; i < taps; i++) dst.set(src.subarray(i * row, (i + 1) * row), (taps - 1 - i) * row)
    return out
  }

  /** [M, K] x [K, N] -> [M, N] (wasm's BatchMatMul is fast only without transpose flags). */
  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    const [m, k] = a.shape
    const n = b.shape[1]
    const out = this.run('BatchMatMul', { a: this.reshape(a, [1, m, k]), b: this.reshape(b, [1, k, n]) }, { transposeA: false, transposeB: false })
    return this.reshape(out, [m, n])
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape })
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm })
  }

  /** StridedSlice without masks (runs in wasm C++; the Slice kernel copies the whole input through JS). */
  stridedSlice(x: TensorInfo, begin: number[], end: number[], strides: number[]): TensorInfo {
    return this.run(
      'StridedSlice',
      { x },
      { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
    )
  }

  /**
   * Stride-1 NHWC convolution with per-side paddings that may be negative (a negative padding crops the input).
   * `depthwise` selects DepthwiseConv2dNative (filter [fh, fw, C, 1]) instead of Conv2D.
   */
  conv2dPadded(
    x: TensorInfo,
    filter: TensorInfo,
    pads: { top: number; bottom: number; left: number; right: number },
    dilations: [number, number],
    depthwise = false,
  ): TensorInfo {
    let input = x
    const [n, h, w, c] = x.shape
    const cropTop = Math.max(0, -pads.top)
    const cropBottom = Math.max(0, -pads.bottom)
    const cropLeft = Math.max(0, -pads.left)
    const cropRight = Math.max(0, -pads.right)
    if (cropTop + cropBottom + cropLeft + cropRight > 0) {
      input = this.stridedSlice(x, [0, cropTop, cropLeft, 0], [n, h - cropBottom, w - cropRight, c], [1, 1, 1, 1])
    }
    const pad = [
      [0, 0],
      [Math.max(0, pads.top), Math.max(0, pads.bottom)],
      [Math.max(0, pads.left), Math.max(0, pads.right)],
      [0, 0],
    ]
    return this.run(
      depthwise ? 'DepthwiseConv2dNative' : 'Conv2D',
      { x: input, filter },
      { strides: [1, 1], pad, dilations, dataFormat: 'NHWC', dimRoundingMode: undefined },
    )
  }

  /**
   * Inserts (s-1) zero rows/columns between the rows/columns of an NHWC tensor: [N, H, W, C] ->
   * [N, H*sh, W*sw, C], of which the last (sh-1) rows and (sw-1) columns are zeros too (callers account for them).
   */
  dilateSpatial(x: TensorInfo, sh: number, sw: number): TensorInfo {
    if (sh === 1 && sw === 1) return x
    const [n, h, w, c] = x.shape
    const x6 = this.reshape(x, [n, h, 1, w, 1, c])
    const padded = this.run(
      'PadV2',
      { x: x6 },
      { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 },
    )
    return this.reshape(padded, [n, h * sh, w * sw, c])
  }
}

/** Wraps a kernel body so intermediates are released on success and on error. */
export function withRunner(
  backendName: string,
  backend: KernelBackendLike,
  body: (r: KernelRunner) => TensorInfo,
): TensorInfo {
  const r = new KernelRunner(backendName, backend)
  try {
    return r.finish(body(r))
  } catch (e) {
    r.abort()
    throw e
  }
}

export function assertChannelsLast(kernelName: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`kernels/${kernelName}: dataFormat '${dataFormat}' is not supported (use NHWC)`)
  }
}
