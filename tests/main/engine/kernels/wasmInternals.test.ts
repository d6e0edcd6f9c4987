/**
 * wasmInternals.ts is the one place that reaches tfjs's private backend internals: it must accept tfjs-wasm 4.22's
 * backend, reject anything else with an error naming the versions, and be the only file that declares them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import {
  EXPECTED_TFJS_WASM_VERSION,
  WasmInternalsError,
  cpuBackend,
  heapF32,
  installedTfjsVersion,
  isWasmBackend,
  missingWasmInternals,
  offsetOf,
  wasmBackend,
} from '../../../../src/main/engine/kernels/wasmInternals'

beforeAll(async () => {
  await initBackend({ force: 'cpu' })
  await initBackend({ force: 'wasm' })
})

describe('wasmInternals', () => {
  it('accepts the installed tfjs-wasm backend, which is the version it was written against', () => {
    const backend = tf.findBackend('wasm')
    expect(missingWasmInternals(backend)).toEqual([])
    expect(installedTfjsVersion()).toBe(`@tensorflow/tfjs-backend-wasm ${EXPECTED_TFJS_WASM_VERSION}`)
    const b = wasmBackend(backend)
    const t = tf.tensor1d([1, 2, 3])
    expect(Array.from(heapF32(b, t))).toEqual([1, 2, 3])
    expect(Array.from(new Float32Array(b.wasm.HEAPU8.buffer, offsetOf(b, t), 3))).toEqual([1, 2, 3])
    t.dispose()
    expect(() => cpuBackend(tf.findBackend('cpu'))).not.toThrow()
  })

  it('throws a WasmInternalsError naming what is missing and the tfjs versions', () => {
    const real = tf.findBackend('wasm') as unknown as { wasm: object }
    const noMemory = { ...real, makeOutput() {}, typedArrayFromHeap() {}, disposeData() {}, readSync() {}, incRef() {}, dataIdMap: { get() {} }, wasm: { ...real.wasm, asm: {} } }
    for (const [backend, what] of [
      [{}, /makeOutput.*dataIdMap\.get.*wasm\.HEAPU8.*wasm\._malloc/],
      [noMemory, /\(wasm\.asm\.memory \(a WebAssembly\.Memory\)\)/],
      [tf.findBackend('cpu'), /typedArrayFromHeap/],
    ] as const) {
      let error: unknown
      try {
        wasmBackend(backend)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(WasmInternalsError)
      const message = (error as Error).message
      expect(message).toMatch(what)
      expect(message).toContain(`@tensorflow/tfjs-backend-wasm ${EXPECTED_TFJS_WASM_VERSION}`)
      expect(message).toContain('installed: @tensorflow/tfjs-backend-wasm')
      expect(isWasmBackend(backend)).toBe(false)
    }
    expect(() => cpuBackend(tf.findBackend('wasm'))).toThrow(/the cpu backend lacks .*data\.get/)
  })

  it('is the only source file that declares or reaches the internals', () => {
    const root = join(__dirname, '../../../../src')
    const files: string[] = []
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name)
        if (statSync(p).isDirectory()) walk(p)
        else if (/\.(ts|vue)$/.test(name)) files.push(p)
      }
    }
    walk(root)
    // reaching into the backend object, or re-typing BackendWasm / MathBackendCPU methods
    const internals = /\b(dataIdMap|HEAPU8|HEAPF32|HEAP32|_malloc|_free|memoryOffset)\b|asm\??\.memory|\bdata\.get\(|(makeOutput|typedArrayFromHeap|makeTensorInfo)\??\s*[(:]\s*\(?\s*\w+\s*:/
    const offenders = files
      .filter((f) => !f.endsWith(join('kernels', 'wasmInternals.ts')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => [line, i] as const)
          .filter(([line]) => internals.test(line) && !/^\s*(\/\/|\*)/.test(line))
          .map(([line, i]) => `${f.slice(root.length + 1)}:${i + 1}: ${line.trim()}`),
      )
    expect(offenders).toEqual([])
  })
})
