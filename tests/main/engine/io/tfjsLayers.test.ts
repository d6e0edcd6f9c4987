import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../../../src/main/engine/io/index'
import type { LoadedCheckpoint } from '../../../../src/main/engine/io/types'
import { SHARED_DATA } from '../../../helpers/paths'
import { tempDir } from './fixtures'

const TM = join(SHARED_DATA, 'models', 'mobilenetv2-tm')
const tmp = tempDir()
afterAll(() => tmp.cleanup())

interface LayerJson { class_name: string; config: Record<string, unknown> & { layers?: LayerJson[] } }
function leafLayers(layers: LayerJson[]): LayerJson[] {
  return layers.flatMap((l) => (Array.isArray(l.config?.layers) ? leafLayers(l.config.layers) : [l]))
}

describe('Teachable Machine MobileNetV2 (TF.js layers model)', () => {
  let ck: LoadedCheckpoint
  let layers: LayerJson[]
  beforeAll(async () => {
    ck = await loadCheckpoint(TM) // the folder
    layers = leafLayers(((ck.meta.modelTopology as LayerJson).config.layers) as LayerJson[])
  })

  it('loads from the folder or from model.json, with the topology and labels in meta', async () => {
    expect(ck.format).toBe('tfjs-layers')
    const viaJson = await loadCheckpoint(join(TM, 'model.json'))
    expect([...viaJson.stateDict.keys()]).toEqual([...ck.stateDict.keys()])
    expect((ck.meta.modelTopology as LayerJson).class_name).toBe('Sequential')
    expect((ck.meta.metadata as { labels: string[] }).labels).toHaveLength(5)
    expect(ck.notes).toEqual([]) // every byte of weights.bin consumed, nothing quantised
  })

  it('has 52 BatchNorm layers with gamma/beta/moving_mean/moving_variance of matching sizes', () => {
    const bns = layers.filter((l) => l.class_name === 'BatchNormalization').map((l) => String(l.config.name))
    expect(bns).toHaveLength(52)
    for (const name of bns) {
      const parts = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((p) => ck.stateDict.get(`${name}/${p}`))
      for (const t of parts) expect(t, name).toBeDefined()
      const c = parts[0]!.shape[0]
      for (const t of parts) expect(t!.shape, name).toEqual([c])
      expect(Math.min(...(parts[3]!.data as Float32Array)), name).toBeGreaterThan(0)
    }
    expect([...ck.stateDict.keys()].filter((k) => k.endsWith('/moving_mean'))).toHaveLength(52)
  })

  it('has 35 Conv2D and 17 depthwise kernels shaped [kh, kw, in, out] as the topology says', () => {
    const convs = layers.filter((l) => l.class_name === 'Conv2D')
    const dws = layers.filter((l) => l.class_name === 'DepthwiseConv2D')
    expect(convs).toHaveLength(35)
    expect(dws).toHaveLength(17)
    for (const l of convs) {
      const k = ck.stateDict.get(`${String(l.config.name)}/kernel`)!
      expect(k.shape.slice(0, 2)).toEqual(l.config.kernel_size)
      expect(k.shape[3]).toBe(l.config.filters)
    }
    for (const l of dws) {
      const k = ck.stateDict.get(`${String(l.config.name)}/depthwise_kernel`)!
      expect(k.shape.slice(0, 2)).toEqual(l.config.kernel_size)
      expect(k.shape[3]).toBe(l.config.depth_multiplier)
    }
    expect(ck.stateDict.get('Conv1/kernel')!.shape).toEqual([3, 3, 3, 16])
    expect(ck.stateDict.get('Conv_1/kernel')!.shape).toEqual([1, 1, 112, 1280])
    const total = [...ck.stateDict.values()].reduce((a, t) => a + t.data.length * 4, 0)
    expect(total).toBe(statSync(join(TM, 'weights.bin')).size)
  })
})

describe('TF.js manifests: shards, quantisation, errors', () => {
  const write = (name: string, weights: unknown[], shards: [string, number[] | Uint8Array][]): string => {
    const dir = join(tmp.dir, name)
    mkdirSync(dir)
    for (const [f, b] of shards) writeFileSync(join(dir, f), Uint8Array.from(b))
    writeFileSync(join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { layers: [] } },
      weightsManifest: [{ paths: shards.map(([f]) => f), weights }],
    }))
    return dir
  }

  it('dequantises uint8/uint16/float16 weights across split shards', async () => {
    const u16 = new Uint8Array(new Uint16Array([0, 4, 65535]).buffer)
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer)
    const i32 = new Uint8Array(new Int32Array([-7, 9]).buffer)
    const all = Uint8Array.from([0, 2, 255, ...u16, ...f16, ...i32])
    const dir = write('quant', [
      { name: 'a', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'b', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 1 } },
      { name: 'c', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'd', shape: [2], dtype: 'int32' },
    ], [['group1-shard1of2.bin', all.subarray(0, 5)], ['group1-shard2of2.bin', all.subarray(5)]])
    const ck = await loadCheckpoint(dir)
    expect([...ck.stateDict.get('a')!.data]).toEqual([-1, 0, 126.5])
    expect([...ck.stateDict.get('b')!.data]).toEqual([1, 2, 1 + 65535 * 0.25])
    expect([...ck.stateDict.get('c')!.data]).toEqual([1, -2])
    expect(ck.stateDict.get('d')!.data).toBeInstanceOf(Int32Array)
    expect([...ck.stateDict.get('d')!.data]).toEqual([-7, 9])
    expect(ck.notes.join('\n')).toMatch(/3 quantised weight/)
  })

  it('names missing shards, short shards and folders without model.json', async () => {
    const short = write('short', [{ name: 'w', shape: [4], dtype: 'float32' }], [['w.bin', [0, 0, 0, 0]]])
    await expect(loadCheckpoint(short)).rejects.toThrow(/model\.json: tensor data out of range: weight w needs bytes 0\.\.16/)
    const dir = write('missing', [{ name: 'w', shape: [1], dtype: 'float32' }], [])
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['gone.bin'], weights: [] }] }))
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weight shard gone\.bin is missing/)
    const empty = join(tmp.dir, 'nothing-here')
    mkdirSync(empty)
    await expect(loadCheckpoint(empty)).rejects.toThrow(new RegExp(`${empty}: folder has no model\\.json`))
  })
})
