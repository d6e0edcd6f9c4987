/**
 * heapLoopsBinary.ts is generated from heapLoops.wat (scripts/build-wasm.ts, wabt from npm): regenerating it here must
 * give the committed file byte for byte. A module that fails to instantiate is an error, not a silent fallback.
 */
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { BINARY_TS_PATH, heapLoopsBinarySource } from '../../../../scripts/build-wasm'
import { initBackend } from '../../../../src/main/engine/backend'

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
})

afterEach(() => {
  vi.doUnmock('../../../../src/main/engine/kernels/wasm/heapLoopsBinary')
  vi.resetModules()
})

describe('heapLoops.wasm', () => {
  it('is the binary of heapLoops.wat (run `npm run build:wasm` after editing the .wat)', async () => {
    expect(readFileSync(BINARY_TS_PATH, 'utf8')).toBe(await heapLoopsBinarySource())
  })

  it('instantiates on the wasm backend', async () => {
    const { heapLoopsFor } = await import('../../../../src/main/engine/kernels/wasm/heapLoops')
    const loops = heapLoopsFor(tf.findBackend('wasm'))
    expect(Object.keys(loops).sort()).toEqual(['affine', 'dotSums', 'im2colT', 'im2colTSame', 'sums'])
  })

  it('throws a clear error when the module cannot be instantiated', async () => {
    vi.resetModules()
    // a valid header, then a truncated section: WebAssembly.Module rejects it
    vi.doMock('../../../../src/main/engine/kernels/wasm/heapLoopsBinary', () => ({ HEAP_LOOPS_WASM_BASE64: Buffer.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 9]).toString('base64') }))
    const { heapLoopsFor } = await import('../../../../src/main/engine/kernels/wasm/heapLoops')
    expect(() => heapLoopsFor(tf.findBackend('wasm'))).toThrow(/instantiating heapLoops\.wasm .* failed/)
  })

  it('refuses a backend without the tfjs-wasm internals', async () => {
    const { heapLoopsFor } = await import('../../../../src/main/engine/kernels/wasm/heapLoops')
    expect(() => heapLoopsFor(tf.findBackend('cpu') ?? {})).toThrow(/tfjs-backend-wasm 4\.22\.0/)
  })
})
