import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createModel, loadPretrained } from '../../../../src/main/engine/models'
import { convertBatchNorm } from '../../../../src/main/engine/methods/convertBatchNorm'
import { relativeChange, relativeChangeByStage, relativeChangeKeys } from '../../../../src/main/engine/analysis/relativeChange'
import type { StateDict } from '../../../../src/main/engine/io/types'
import { CIFAR_RESNET, DIGITS, SHARED_DATA } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'
import { DIGIT_CLASSES, loadBatches } from './data'

const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')
const clone = (sd: StateDict): StateDict => new Map([...sd].map(([k, v]) => [k, { ...v, data: v.data.slice() }]))
/** the stage rule of the ResNets' BN layers, applied to any name */
const stageByPrefix = (name: string): string => {
  const m = /^layer(\d+)\./.exec(name)
  return m ? `stage ${m[1]}` : 'stem'
}

describe('relativeChange (Eq. 6)', () => {
  beforeAll(() => useBackend('wasm'))

  it('resnet20: every conv weight and BN tensor in forward order with stages; an untouched model gives 0 everywhere', async () => {
    const net = await loadPretrained(RESNET20)
    const sd = net.stateDict()
    const rows = relativeChange(sd, clone(sd), net, { source: 'resnet20-12fca82f.th' })
    expect(rows).toHaveLength(19 + 19 * 4)
    expect(rows.slice(0, 6).map((r) => [r.name, r.kind, r.stage])).toEqual([
      ['conv1.weight', 'conv', 'stem'],
      ['bn1.weight', 'gamma', 'stem'],
      ['bn1.bias', 'beta', 'stem'],
      ['bn1.running_mean', 'running_mean', 'stem'],
      ['bn1.running_var', 'running_var', 'stem'],
      ['layer1.0.conv1.weight', 'conv', 'stage 1'],
    ])
    expect(rows.at(-1)!.name).toBe('layer3.2.bn2.running_var')
    for (const r of rows) {
      expect(r.value, r.name).toBe(0)
      expect(r.stage, r.name).toBe(stageByPrefix(r.name))
      expect(r.normBefore).toBeGreaterThan(0)
    }
    expect(rows.some((r) => r.name.startsWith('linear'))).toBe(false)
    net.dispose()
  })

  it('matches ||after - before|| / ||before|| per tensor after a real BN conversion; zero norms give null', async () => {
    await useBackend('wasm')
    const net = await loadPretrained(RESNET20)
    const before = net.stateDict()
    const batches = await loadBatches(join(DIGITS, 'mnist_m', 'train'), DIGIT_CLASSES, 4, 40)
    await convertBatchNorm(net, batches.map((b) => b.x), { disposeBatches: true })
    const after = net.stateDict()
    const rows = relativeChange(before, after, net)
    for (const r of rows) {
      const b = before.get(r.name)!.data
      const a = after.get(r.name)!.data
      let nb = 0
      let nd = 0
      for (let i = 0; i < b.length; i++) {
        nb += b[i] ** 2
        nd += (a[i] - b[i]) ** 2
      }
      expect(r.value, r.name).toBeCloseTo(Math.sqrt(nd) / Math.sqrt(nb), 6)
      if (r.kind === 'conv') expect(r.value).toBe(0) // conversion touches BN layers only
      else expect(r.value!, r.name).toBeGreaterThan(0)
    }
    const byStage = relativeChangeByStage(rows)
    expect(byStage.find((g) => g.stage === 'stage 2' && g.kind === 'running_var')!.layers).toBe(6)
    // a zero tensor before: null, never NaN / Infinity
    const z = clone(before)
    z.get('layer1.0.bn1.bias')!.data.fill(0)
    const zr = relativeChange(z, after, net).find((r) => r.name === 'layer1.0.bn1.bias')!
    expect(zr.value).toBeNull()
    expect(relativeChangeByStage([zr])[0].mean).toBeNull()
    // missing keys / shape mismatch name the key and the source
    const m = clone(before)
    m.delete('layer2.1.conv2.weight')
    expect(() => relativeChange(m, after, net, { source: 'ft.safetensors' })).toThrow(/ft\.safetensors.*layer2\.1\.conv2\.weight.*before/)
    net.dispose()
  })

  it('torchvision resnet18: downsample convs and BN layers take their block stage', () => {
    const net = createModel('resnet18', 10, { seed: 1 })
    const keys = relativeChangeKeys(net)
    expect(keys.filter((k) => k.kind === 'conv')).toHaveLength(20)
    expect(keys.filter((k) => k.kind === 'gamma')).toHaveLength(20)
    const ds = keys.filter((k) => k.layer.startsWith('layer2.0.downsample'))
    expect(ds.map((k) => [k.name, k.stage])).toEqual([
      ['layer2.0.downsample.0.weight', 'stage 2'],
      ['layer2.0.downsample.1.weight', 'stage 2'],
      ['layer2.0.downsample.1.bias', 'stage 2'],
      ['layer2.0.downsample.1.running_mean', 'stage 2'],
      ['layer2.0.downsample.1.running_var', 'stage 2'],
    ])
    for (const k of keys) expect(k.stage, k.name).toBe(stageByPrefix(k.name))
    // fresh init: beta and running_mean are all zero -> null, the rest 0
    const sd = net.stateDict()
    for (const r of relativeChange(sd, sd, net)) expect(r.value, r.name).toBe(r.kind === 'beta' || r.kind === 'running_mean' ? null : 0)
    net.dispose()
  })

  it("MobileNetV2 (Keras names) uses the model's own stage labels for convs and BN layers", async () => {
    const net = await loadPretrained(join(SHARED_DATA, 'models', 'mobilenetv2-tm', 'model.json'))
    const keys = relativeChangeKeys(net)
    const bnStage = new Map(net.bnLayers().map((l) => [l.name, l.stage]))
    expect(keys.filter((k) => k.kind === 'gamma')).toHaveLength(52)
    expect(keys.filter((k) => k.kind === 'conv')).toHaveLength(52) // 35 Conv2D + 17 DepthwiseConv2D
    for (const k of keys) if (k.kind !== 'conv') expect(k.stage).toBe(bnStage.get(k.layer))
    const stageOf = (layer: string): string => keys.find((k) => k.layer === layer)!.stage
    expect(stageOf('Conv1')).toBe(bnStage.get('bn_Conv1'))
    expect(stageOf('block_3_expand')).toBe(bnStage.get('block_3_expand_BN'))
    expect(stageOf('block_16_project')).toBe(bnStage.get('block_16_project_BN'))
    expect(stageOf('Conv_1')).toBe(bnStage.get('Conv_1_bn'))
    expect(new Set(keys.map((k) => k.stage)).size).toBeGreaterThanOrEqual(7)
    const sd = net.stateDict()
    expect(relativeChange(sd, sd, net).every((r) => r.value === 0 || r.value === null)).toBe(true)
    net.dispose()
  })
})
