import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { TorchvisionResNet, createModel, detectArchitecture } from '../../../../src/main/engine/models'
import { useBackend } from '../nn/tfBackend'

describe('torchvision ResNets (random init)', () => {
  beforeAll(async () => useBackend('wasm'))

  it('resnet18/34/50 have torchvision key names, BN counts, stages and feature widths; detectArchitecture recognises them', () => {
    for (const [arch, nBn, dim, params] of [['resnet18', 20, 512, 11689512], ['resnet34', 36, 512, 21797672], ['resnet50', 53, 2048, 25557032]] as const) {
      const net = createModel(arch, 1000)
      expect(net.featureDim).toBe(dim)
      const bns = net.bnLayers()
      expect(bns.length).toBe(nBn)
      expect(bns[0]).toMatchObject({ name: 'bn1', stage: 'stem' })
      expect(bns.find((b) => b.name === 'layer2.0.downsample.1')!.stage).toBe('stage 2')
      expect(bns[bns.length - 1].stage).toBe('stage 4')
      const sd = net.stateDict()
      expect(sd.get('layer2.0.downsample.0.weight')!.shape).toEqual([arch === 'resnet50' ? 512 : 128, arch === 'resnet50' ? 256 : 64, 1, 1])
      expect(sd.get('fc.weight')!.shape).toEqual([1000, dim])
      // the parameter count of torchvision's models (numel of named_parameters)
      expect(net.namedParameters().reduce((s, [, v]) => s + v.size, 0)).toBe(params)
      expect(detectArchitecture(sd)).toBe(arch)
      net.dispose()
    }
  })

  it('a state dict round trip between two differently seeded models reproduces logits exactly', () => {
    const a = new TorchvisionResNet('resnet18', 4, { seed: 1 })
    const b = new TorchvisionResNet('resnet18', 4, { seed: 2 })
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D
    const ya = a.forward(x, 'eval')
    const yb0 = b.forward(x, 'eval')
    expect(Array.from(yb0.dataSync())).not.toEqual(Array.from(ya.dataSync()))
    expect(b.loadStateDict(a.stateDict())).toEqual({ missing: [], unexpected: [] })
    const yb = b.forward(x, 'eval')
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()))
    expect(ya.shape).toEqual([2, 4])
    tf.dispose([x, ya, yb0, yb])
    a.dispose()
    b.dispose()
  })

  it('the seed makes initialisation reproducible, and kaiming fan_out init has the expected spread', () => {
    const a = new TorchvisionResNet('resnet18', 10, { seed: 9 })
    const b = new TorchvisionResNet('resnet18', 10, { seed: 9 })
    const wa = a.stateDict().get('layer3.1.conv2.weight')!.data
    expect(Array.from(b.stateDict().get('layer3.1.conv2.weight')!.data)).toEqual(Array.from(wa))
    let ss = 0
    for (const v of wa) ss += v * v
    const std = Math.sqrt(ss / wa.length)
    expect(std).toBeGreaterThan(0.95 * Math.sqrt(2 / (256 * 9)))
    expect(std).toBeLessThan(1.05 * Math.sqrt(2 / (256 * 9)))
    a.dispose()
    b.dispose()
  })
})
