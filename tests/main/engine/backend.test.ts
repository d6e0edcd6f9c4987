import { availableParallelism } from 'node:os'
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/engine/backend'

const require = createRequire(import.meta.url)
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg)
    return true
  } catch {
    return false
  }
}
const tfjsNodeInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu')

let savedEnv: string | undefined
beforeEach(() => {
  savedEnv = process.env.DAFT_BACKEND
  delete process.env.DAFT_BACKEND
})
afterEach(() => {
  if (savedEnv === undefined) delete process.env.DAFT_BACKEND
  else process.env.DAFT_BACKEND = savedEnv
})

describe('initBackend', () => {
  it('picks wasm when tfjs-node is absent and says why tensorflow was skipped', async () => {
    const info = await initBackend()
    if (tfjsNodeInstalled) {
      // a machine with the optional native backend: it wins, or its load failure is explained
      if (info.name !== 'tensorflow') expect(info.fallbackReason).toMatch(/tensorflow: .*tfjs-node/)
      return
    }
    expect(info.name).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    expect(info.fallbackReason).toContain('@tensorflow/tfjs-node-gpu is not installed')
    expect(info.fallbackReason).toContain('@tensorflow/tfjs-node is not installed')
    expect(info.simd).toBe(true)
    // tfjs-backend-wasm 4.22 turns threads off under Node; the native conv kernels (built by npm install on
    // this machine, which has a C++ toolchain) use every core
    const cores = availableParallelism()
    expect(info.nativeUnavailable).toBeUndefined()
    expect(info.threads).toBe(cores)
    expect(info.device).toMatch(new RegExp(`^CPU \\(wasm SIMD, 1 thread\\) \\+ native kernels \\((avx512|avx2|generic), ${cores} threads?\\)$`))
    expect(info.kernels).toEqual(
      expect.arrayContaining([
        // one registration each: the addon's conv gradients (conv2dBackprop.ts's only without it)
        'Conv2DBackpropFilter (native)',
        'Conv2DBackpropInput (native)',
        'DepthwiseConv2dNativeBackpropFilter',
        'DepthwiseConv2dNativeBackpropInput',
        'UnsortedSegmentSum',
      ]),
    )
    // the registered kernels are live on the backend
    for (const name of info.kernels.filter((k) => !k.includes('gradient'))) {
      expect(tf.getKernel(name.replace(' (native)', ''), 'wasm'), name).toBeDefined()
    }
  })

  it('is idempotent: a second call returns the same info and keeps the backend', async () => {
    const a = await initBackend()
    const b = await initBackend()
    expect(b).toBe(a)
    expect(tf.getBackend()).toBe(a.name)
  })

  it('DAFT_BACKEND=cpu forces the cpu backend, and the automatic choice comes back afterwards', async () => {
    const auto = await initBackend()
    process.env.DAFT_BACKEND = 'cpu'
    const info = await initBackend()
    expect(info.name).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(info.fallbackReason).toBe('forced by DAFT_BACKEND=cpu')
    expect(info.kernels).toContain('UnsortedSegmentSum')
    // a real computation runs on it
    const y = tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same')
    expect(Array.from(y.dataSync())).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4])
    y.dispose()
    delete process.env.DAFT_BACKEND
    const again = await initBackend()
    expect(again).toBe(auto)
    expect(tf.getBackend()).toBe(auto.name)
  })

  it('opts.force wins over DAFT_BACKEND', async () => {
    process.env.DAFT_BACKEND = 'cpu'
    const info = await initBackend({ force: 'wasm' })
    expect(info.name).toBe('wasm')
    expect(info.fallbackReason).toBe('forced by opts.force')
  })

  it('fails when the forced backend cannot load, naming it and the reason', async () => {
    if (tfjsNodeInstalled) return
    process.env.DAFT_BACKEND = 'tensorflow'
    await expect(initBackend()).rejects.toThrow(
      /backend 'tensorflow' \(forced by DAFT_BACKEND=tensorflow\) cannot load: @tensorflow\/tfjs-node-gpu is not installed/,
    )
  })

  it('rejects an unknown DAFT_BACKEND value', async () => {
    process.env.DAFT_BACKEND = 'webgpu'
    await expect(initBackend()).rejects.toThrow(/DAFT_BACKEND='webgpu' is not one of tensorflow, wasm, cpu/)
  })
})
