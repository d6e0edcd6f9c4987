/**
 * The one adapter to the tfjs backends' internals the custom kernels use (and the only file that declares them):
 * on tfjs-backend-wasm the tensor table (`dataIdMap`: dataId -> heap offset), the Emscripten module (`wasm`: HEAPU8,
 * _malloc/_free, the WebAssembly.Memory in `wasm.asm.memory`) and the output allocator and heap views
 * (`makeOutput`, `typedArrayFromHeap`); on the cpu backend its value store (`data`) and `makeTensorInfo`.
 * None of it is in tfjs's public API, so `wasmBackend` / `cpuBackend` check the object once (per backend instance)
 * and throw a WasmInternalsError naming the installed and the expected tfjs version when anything is missing,
 * instead of letting a kernel read garbage off the heap. registerTrainingKernels checks the wasm backend up front.
 */
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'

type TensorInfo = tf.TensorInfo

/** The tfjs-backend-wasm version these internals were written against (package.json pins it). */
export const EXPECTED_TFJS_WASM_VERSION = '4.22.0'

/** The slice of the WebAssembly JS API used here (the node tsconfig has no DOM/WebAssembly lib types). */
export interface WasmApi {
  Memory: abstract new (...args: never[]) => { buffer: ArrayBuffer }
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
export const WebAssemblyApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly

/** tfjs-backend-wasm's BackendWasm, as far as the kernels here use it. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): TensorInfo
  typedArrayFromHeap(t: TensorInfo): tf.backend_util.TypedArray
  disposeData(dataId: object, force?: boolean): boolean
  readSync(dataId: object): tf.backend_util.BackendValues
  incRef(dataId: object): void
  /** how many tensors share this data (optional: callers that write in place fall back without it) */
  refCount?(dataId: object): number
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  wasm: {
    HEAPU8: Uint8Array
    _malloc(bytes: number): number
    _free(ptr: number): void
    asm: { memory: object }
  }
}

/** tfjs-backend-cpu's MathBackendCPU, as far as the kernels here use it. */
export interface CpuBackend {
  data: { get(dataId: object): { values: tf.backend_util.BackendValues } | undefined }
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo
  disposeData(dataId: object, force?: boolean): boolean
  readSync(dataId: object): tf.backend_util.BackendValues
}

export class WasmInternalsError extends Error {
  override name = 'WasmInternalsError'
}

let installedWasm: string | undefined
/** The installed @tensorflow/tfjs-backend-wasm version (or tfjs-core's, when its package.json cannot be read). */
export function installedTfjsVersion(): string {
  if (installedWasm == null) {
    try {
      installedWasm = `@tensorflow/tfjs-backend-wasm ${(createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version}`
    } catch {
      installedWasm = `@tensorflow/tfjs-core ${tf.version_core}`
    }
  }
  return installedWasm
}

const isFn = (o: unknown, k: string): boolean => typeof (o as Record<string, unknown> | null)?.[k] === 'function'

/** What is missing from `backend` for it to be tfjs-backend-wasm 4.22's BackendWasm ([] when nothing is). */
export function missingWasmInternals(backend: unknown): string[] {
  const b = backend as Partial<WasmBackend> | null | undefined
  if (b == null || typeof b !== 'object') return ['the backend object']
  const missing = ['makeOutput', 'typedArrayFromHeap', 'disposeData', 'readSync', 'incRef'].filter((k) => !isFn(b, k))
  if (!isFn(b.dataIdMap, 'get')) missing.push('dataIdMap.get')
  const w = b.wasm
  if (!(w?.HEAPU8 instanceof Uint8Array)) missing.push('wasm.HEAPU8')
  if (!isFn(w, '_malloc')) missing.push('wasm._malloc')
  if (!isFn(w, '_free')) missing.push('wasm._free')
  const memory = w?.asm?.memory
  if (!WebAssemblyApi || !(memory instanceof WebAssemblyApi.Memory)) missing.push('wasm.asm.memory (a WebAssembly.Memory)')
  else if (w?.HEAPU8 instanceof Uint8Array && w.HEAPU8.buffer !== (memory as { buffer: ArrayBuffer }).buffer) missing.push('wasm.HEAPU8 on wasm.asm.memory')
  return missing
}

function internalsError(kind: string, missing: string[]): WasmInternalsError {
  return new WasmInternalsError(
    `kernels/wasmInternals: the ${kind} backend lacks the tfjs internals the custom kernels use (${missing.join(', ')}). ` +
      `They were written against @tensorflow/tfjs-backend-wasm ${EXPECTED_TFJS_WASM_VERSION} (with tfjs-core ${EXPECTED_TFJS_WASM_VERSION}); ` +
      `installed: ${installedTfjsVersion()}. Pin tfjs to ${EXPECTED_TFJS_WASM_VERSION} or update src/main/engine/kernels/wasmInternals.ts.`,
  )
}

const checkedWasm = new WeakSet<object>()

/** `backend` as tfjs-backend-wasm's BackendWasm; throws a WasmInternalsError (once per call) if it is not one. */
export function wasmBackend(backend: unknown): WasmBackend {
  if (checkedWasm.has(backend as object)) return backend as WasmBackend
  const missing = missingWasmInternals(backend)
  if (missing.length) throw internalsError('wasm', missing)
  checkedWasm.add(backend as object)
  return backend as WasmBackend
}

/** Whether `backend` is a wasm backend with the internals (for helpers that also serve other backends). */
export function isWasmBackend(backend: unknown): boolean {
  return checkedWasm.has(backend as object) || missingWasmInternals(backend).length === 0
}

const checkedCpu = new WeakSet<object>()

/** `backend` as tfjs-backend-cpu's MathBackendCPU; throws a WasmInternalsError if it is not one. */
export function cpuBackend(backend: unknown): CpuBackend {
  if (checkedCpu.has(backend as object)) return backend as CpuBackend
  const b = backend as Partial<CpuBackend> | null
  const missing = ['makeTensorInfo', 'disposeData', 'readSync'].filter((k) => !isFn(b, k))
  if (!isFn(b?.data, 'get')) missing.push('data.get')
  if (missing.length) throw internalsError('cpu', missing)
  checkedCpu.add(backend as object)
  return backend as CpuBackend
}

// ------------------------------------------------------------------------------------------------ wasm heap

/** Byte offset of a tensor's data on the wasm heap (read after allocating outputs: offsets stay, buffers do not). */
export function offsetOf(b: WasmBackend, t: TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId)
  if (!d) throw new Error('kernels/wasmInternals: tensor is not on this wasm backend (disposed, or from another backend)')
  return d.memoryOffset
}

/** Whether a tensor's data is on this wasm backend (not disposed, not another backend's). */
export function onHeap(b: WasmBackend, t: TensorInfo): boolean {
  return b.dataIdMap.get(t.dataId) != null
}

/** Whether a tensor's data is on this backend and no other tensor shares it (so a kernel may write it in place). */
export function ownsData(b: WasmBackend, t: TensorInfo): boolean {
  return onHeap(b, t) && b.refCount?.(t.dataId) === 1
}

/** The wasm heap as it is now (take it after allocating outputs: a heap growth replaces the buffer). */
export function heapOf(b: WasmBackend): ArrayBuffer {
  return b.wasm.HEAPU8.buffer as ArrayBuffer
}

/** A float32 view of a tensor on the heap (invalidated by the next allocation that grows the heap). */
export function heapF32(b: WasmBackend, t: TensorInfo): Float32Array {
  return b.typedArrayFromHeap(t) as Float32Array
}

/** The backend's WebAssembly.Memory (for modules that run on the same heap, wasm/heapLoops.ts). */
export function wasmMemory(b: WasmBackend): object {
  return b.wasm.asm.memory
}

/** Runs `body(ptr)` with `bytes` of scratch from the backend's malloc, 16-byte aligned; frees it afterwards. */
export function withScratch<T>(b: WasmBackend, bytes: number, body: (ptr: number) => T): T {
  const raw = b.wasm._malloc(bytes + 16) >>> 0
  if (raw === 0) throw new Error(`kernels/wasmInternals: the wasm heap has no ${bytes} bytes left`)
  try {
    return body(((raw + 15) & ~15) >>> 0)
  } finally {
    b.wasm._free(raw)
  }
}

// ------------------------------------------------------------------------------------------------ cpu

/** The cpu backend's own value array of a tensor (no copy: writes go into the tensor). */
export function cpuValues(b: CpuBackend, t: TensorInfo): Float32Array {
  const d = b.data.get(t.dataId)
  if (!d) throw new Error('kernels/wasmInternals: tensor is not on this cpu backend')
  return d.values as Float32Array
}

/** A new zeroed float32 tensor on the cpu backend. */
export function cpuOutput(b: CpuBackend, shape: number[]): TensorInfo {
  return b.makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape)))
}
