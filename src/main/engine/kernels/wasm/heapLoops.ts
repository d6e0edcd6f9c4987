/**
 * The small wasm module of heapLoops.wat, instantiated once per tfjs wasm backend on that backend's own
 * WebAssembly.Memory (reached through ../wasmInternals.ts), so its loops read and write tensors in place on the heap.
 * heapLoopsBinary.ts is generated from heapLoops.wat by `npm run build:wasm` (scripts/build-wasm.mjs, wabt pinned in
 * package.json); tests/main/engine/kernels/heapLoops.test.ts regenerates it and fails when the two differ.
 * Instantiation failures are thrown (with the cause), never swallowed: the kernels that need the module do not run.
 */
import { HEAP_LOOPS_WASM_BASE64 } from './heapLoopsBinary'
import { WebAssemblyApi, wasmBackend, wasmMemory } from '../wasmInternals'

export interface HeapLoops {
  sums(x: number, center: number, s: number, t: number, m: number, c: number): void
  dotSums(x: number, o: number, center: number, s: number, t: number, m: number, c: number): void
  affine(out: number, x: number, a: number, b: number, y: number, g: number, m: number, c: number): void
  im2colT(src: number, dst: number, rows: number, h: number, w: number, ho: number, wo: number, dh: number, dw: number, sh: number, sw: number): void
  /** im2colT for stride 1 with an output the size of the input (one shifted copy per row) */
  im2colTSame(src: number, dst: number, rows: number, h: number, w: number, dh: number, dw: number): void
}

let compiled: object | undefined
const instances = new WeakMap<object, HeapLoops>()

/** The loops on this tfjs wasm backend (instantiated on first use); throws if the module cannot be instantiated. */
export function heapLoopsFor(backend: unknown): HeapLoops {
  const b = wasmBackend(backend)
  let inst = instances.get(b)
  if (inst) return inst
  try {
    if (!WebAssemblyApi) throw new Error('this runtime has no WebAssembly')
    compiled ??= new WebAssemblyApi.Module(Uint8Array.from(atob(HEAP_LOOPS_WASM_BASE64), (ch) => ch.charCodeAt(0)))
    inst = new WebAssemblyApi.Instance(compiled, { env: { memory: wasmMemory(b) } }).exports as HeapLoops
  } catch (e) {
    throw new Error(
      `kernels/wasm/heapLoops: instantiating heapLoops.wasm (wasm SIMD + bulk memory) on the tfjs-wasm heap failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    )
  }
  instances.set(b, inst)
  return inst
}
