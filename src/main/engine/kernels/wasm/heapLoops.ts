/**
 * The small wasm module of heapLoops.wat, instantiated once per tfjs wasm backend on that backend's own
 * WebAssembly.Memory, so its loops read and write tensors in place on the heap (no copies).
 * Rebuild after editing the .wat: `npx -p wabt@1.0.39 wat2wasm heapLoops.wat -o /tmp/heapLoops.wasm`, then put
 * `base64 -w0 /tmp/heapLoops.wasm` into HEAP_LOOPS_WASM_BASE64 in heapLoopsBinary.ts.
 */
import { HEAP_LOOPS_WASM_BASE64 } from './heapLoopsBinary'

/** The slice of the WebAssembly JS API used here (the node tsconfig has no DOM/WebAssembly lib types). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => object
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly

export interface HeapLoops {
  sums(x: number, center: number, s: number, t: number, m: number, c: number): void
  dotSums(x: number, o: number, center: number, s: number, t: number, m: number, c: number): void
  affine(out: number, x: number, a: number, b: number, y: number, g: number, m: number, c: number): void
  im2colT(src: number, dst: number, rows: number, h: number, w: number, ho: number, wo: number, dh: number, dw: number, sh: number, sw: number): void
  /** im2colT for stride 1 with an output the size of the input (one shifted copy per row) */
  im2colTSame(src: number, dst: number, rows: number, h: number, w: number, dh: number, dw: number): void
}

const instances = new WeakMap<object, HeapLoops | null>()

/** The loops on this tfjs wasm backend, or null (no SIMD / bulk memory, or the backend's memory is not reachable). */
export function heapLoopsFor(backend: unknown): HeapLoops | null {
  const b = backend as { wasm?: { asm?: { memory?: object } } }
  let inst = instances.get(b)
  if (inst !== undefined) return inst
  inst = null
  const memory = b.wasm?.asm?.memory
  if (WA && memory instanceof WA.Memory) {
    try {
      const bytes = Uint8Array.from(atob(HEAP_LOOPS_WASM_BASE64), (ch) => ch.charCodeAt(0))
      inst = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports as unknown as HeapLoops
    } catch {
      inst = null
    }
  }
  instances.set(b, inst)
  return inst
}
