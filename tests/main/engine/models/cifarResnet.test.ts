import { beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { CifarResNet, createModel, detectArchitecture, loadPretrained } from '../../../../src/main/engine/models'
import { loadCheckpoint, saveSafetensors } from '../../../../src/main/engine/io'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { CIFAR_RESNET, SHARED_DATA } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'
import { CIFAR_CLASSES, listImages, loadBatch } from './images'

const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')

describe('CIFAR ResNets', () => {
  beforeAll(async () => useBackend('wasm'))

  it('builds resnet20/32/44/56 with the checkpoint key names, 19/31/43/55 BN layers and stages', () => {
    for (const [arch, nBn] of [['resnet20', 19], ['resnet32', 31], ['resnet44', 43], ['resnet56', 55]] as const) {
      const net = createModel(arch, 10)
      const bns = net.bnLayers()
      expect(bns.length).toBe(nBn)
      expect(bns[0]).toMatchObject({ name: 'bn1', stage: 'stem' })
      expect(bns[1]).toMatchObject({ name: 'layer1.0.bn1', stage: 'stage 1' })
      expect(bns[bns.length - 1].stage).toBe('stage 3')
      expect(detectArchitecture(net.stateDict())).toBe(arch)
      net.dispose()
    }
  })

  it('forward gives [N, classes] logits, features [N, 64]; replaceHead swaps only the head', () => {
    const net = new CifarResNet('resnet20', 10, { seed: 1 })
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D
    expect(net.forward(x, 'eval').shape).toEqual([2, 10])
    const f = net.features(x, 'eval')
    expect(f.shape).toEqual([2, 64])
    const nBackbone = net.backboneParameters().length
    net.replaceHead(7, 'zero')
    expect(net.headParameters().length).toBe(2)
    expect(net.backboneParameters().length).toBe(nBackbone)
    const y = net.forward(x, 'eval')
    expect(y.shape).toEqual([2, 7])
    expect(Array.from(y.dataSync()).every((v) => v === 0)).toBe(true)
    expect(net.stateDict().get('linear.weight')!.shape).toEqual([7, 64])
    tf.dispose([x, f, y])
    net.dispose()
  })

  it('loads the legacy .th checkpoint and classifies the 20 lossless CIFAR-10 PNGs 20/20', async () => {
    const net = await loadPretrained(RESNET20)
    expect(net.arch).toBe('resnet20')
    const items = listImages(join(SHARED_DATA, 'cifar10-png-samples', 'test'), CIFAR_CLASSES)
    expect(items.length).toBe(20)
    const batch = await loadBatch(items.map(([f]) => f))
    const x = tf.tensor4d(batch.data, batch.shape)
    const logits = net.forward(x, 'eval')
    const pred = logits.argMax(1)
    const p = Array.from(pred.dataSync())
    expect(p).toEqual(items.map(([, l]) => l))
    tf.dispose([x, logits, pred])
    net.dispose()
  })

  it('state dict round trip reproduces the checkpoint tensors exactly', async () => {
    const ckpt = await loadCheckpoint(RESNET20)
    const net = createModel('resnet20', 10)
    expect(net.loadStateDict(ckpt.stateDict)).toEqual({ missing: [], unexpected: [] })
    const out = net.stateDict()
    expect([...out.keys()].sort()).toEqual([...ckpt.stateDict.keys()].sort())
    for (const [k, h] of ckpt.stateDict) {
      expect(out.get(k)!.shape).toEqual(h.shape)
      expect(Buffer.from((out.get(k)!.data as Float32Array).buffer).equals(Buffer.from((h.data as Float32Array).buffer, h.data.byteOffset, h.data.byteLength))).toBe(true)
    }
    net.dispose()
  })

  it('a converted/exported state dict survives a safetensors round trip through loadPretrained', async () => {
    const net = await loadPretrained(RESNET20)
    net.bnLayers()[3].bn.setState({ runningMean: new Array(16).fill(0.25) })
    const dir = mkdtempSync(join(tmpdir(), 'daft-nn-'))
    const file = join(dir, 'resnet20-exported.safetensors')
    try {
      await saveSafetensors(file, net.stateDict())
      const back = await loadPretrained(file)
      expect(back.arch).toBe('resnet20')
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D
      const a = net.forward(x, 'eval')
      const b = back.forward(x, 'eval')
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()))
      tf.dispose([x, a, b])
      back.dispose()
    } finally {
      rmSync(dir, { recursive: true, force: true })
      net.dispose()
    }
  })

  it('the zip-format .pt gives identical logits; a mismatched checkpoint is rejected naming the file', async () => {
    const a = await loadPretrained(RESNET20)
    const b = await loadPretrained(join(CIFAR_RESNET, 'DERIVED_resnet20-12fca82f_zipformat.pt'))
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D
    const ya = a.forward(x, 'eval')
    const yb = b.forward(x, 'eval')
    expect(Array.from(ya.dataSync())).toEqual(Array.from(yb.dataSync()))
    const path32 = join(CIFAR_RESNET, 'resnet32-d509ac18.th')
    await expect(loadPretrained(path32, 'resnet20')).rejects.toThrow(/resnet32-d509ac18\.th: .*unexpected keys: layer1\.3/)
    tf.dispose([x, ya, yb])
    a.dispose()
    b.dispose()
  })
})
