import { beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { KerasBNNet, detectArchitecture, loadPretrained } from '../../../../src/main/engine/models'
import { loadCheckpoint } from '../../../../src/main/engine/io'
import { SHARED_DATA } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'

const DIR = join(SHARED_DATA, 'models', 'mobilenetv2-tm')

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0
  let m = 0
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]))
    m = Math.max(m, Math.abs(b[i]))
  }
  return d / m
}

describe('MobileNetV2 from a TF.js layers model.json', () => {
  let net: KerasBNNet
  let x: tf.Tensor4D
  beforeAll(async () => {
    await useBackend('wasm')
    net = (await loadPretrained(DIR)) as KerasBNNet
    x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 7) as tf.Tensor4D
  })

  it('has 52 BN layers with Keras names, eps 1e-3 and momentum 1 - 0.999, and a [-1, 1] input range', () => {
    expect(net.arch).toBe('mobilenetv2')
    const bns = net.bnLayers()
    expect(bns.length).toBe(52)
    expect(bns[0]).toMatchObject({ name: 'bn_Conv1', stage: 'stem' })
    expect(bns.find((b) => b.name === 'block_3_expand_BN')!.stage).toBe('stage 3')
    expect(bns[bns.length - 1]).toMatchObject({ name: 'Conv_1_bn', stage: 'top' })
    expect(bns.every((b) => b.bn.eps === 1e-3 && Math.abs(b.bn.momentum - 0.001) < 1e-12)).toBe(true)
    expect(net.featureDim).toBe(1280)
    expect(net.numClasses).toBe(5)
    expect(net.preprocessing).toMatchObject({ inputSize: [224, 224], range: [-1, 1] })
    expect(net.headParameters().length).toBe(3) // Dense 100 (kernel, bias) + Dense 5 (kernel)
  })

  it('matches tfjs-layers on the same weights: features and softmax(logits)', async () => {
    const modelJson = JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8'))
    const bin = readFileSync(join(DIR, 'weights.bin'))
    const ref = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      }),
    )
    const refProbs = ref.predict(x) as tf.Tensor
    const refFeat = (ref.layers[0] as tf.LayersModel).predict(x) as tf.Tensor
    const feat = net.features(x, 'eval')
    const logits = net.forward(x, 'eval')
    const probs = tf.softmax(logits)
    expect(feat.shape).toEqual([2, 1280])
    const ef = relErr(feat.dataSync(), refFeat.dataSync())
    const ep = relErr(probs.dataSync(), refProbs.dataSync())
    console.log(`mobilenetv2 vs tfjs-layers: features ${ef.toExponential(2)}, probabilities ${ep.toExponential(2)}`)
    expect(ef).toBeLessThan(1e-4)
    expect(ep).toBeLessThan(1e-4)
    tf.dispose([refProbs, refFeat, feat, logits, probs])
    ref.dispose()
  })

  it('exports a PyTorch-layout state dict that loads into a fresh network built from the topology', async () => {
    const sd = net.stateDict()
    expect(sd.get('Conv1.weight')!.shape).toEqual([16, 3, 3, 3])
    expect(sd.get('expanded_conv_depthwise.weight')!.shape).toEqual([16, 1, 3, 3])
    expect(sd.get('bn_Conv1.running_var')!.shape).toEqual([16])
    expect(sd.get('dense_Dense3.weight')!.shape).toEqual([100, 1280])
    const ckpt = await loadCheckpoint(DIR)
    expect(detectArchitecture(ckpt.stateDict)).toBe('mobilenetv2')
    const fresh = new KerasBNNet(ckpt.meta.modelTopology)
    expect(fresh.loadStateDict(sd)).toEqual({ missing: [], unexpected: [] })
    const a = net.forward(x, 'eval')
    const b = fresh.forward(x, 'eval')
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()))
    tf.dispose([a, b])
    fresh.dispose()
  })

  it('replaceHead drops the Dense-100 neck: one Linear(1280, k) on the pooled features', () => {
    const before = net.backboneParameters().length
    net.replaceHead(3, 'zero')
    expect(net.headParameters().length).toBe(2)
    expect(net.backboneParameters().length).toBe(before)
    expect([...net.stateDict().keys()].filter((k) => k.startsWith('dense_'))).toEqual(['dense_Dense4.weight', 'dense_Dense4.bias'])
    const y = net.forward(x.slice([0, 0, 0, 0], [1, -1, -1, -1]), 'eval')
    expect(y.shape).toEqual([1, 3])
    expect(Array.from(y.dataSync())).toEqual([0, 0, 0])
    y.dispose()
  })

  it('rejects an unsupported topology naming the file', () => {
    const topo = { class_name: 'Sequential', config: { layers: [{ class_name: 'LSTM', config: { name: 'lstm_1', units: 3 } }] } }
    expect(() => new KerasBNNet(topo, { source: 'weird/model.json' })).toThrow(/weird\/model\.json/)
  })

  it('refuses sizes a crafted model.json declares before allocating anything', async () => {
    const { readFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const json = JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8'))
    const topo = json.modelTopology
    type Layer = { class_name: string; config: Record<string, unknown> & { layers?: Layer[] } }
    const convs: Layer[] = []
    const walk = (ls: Layer[]): void => ls.forEach((l) => (l.class_name === 'Conv2D' ? convs.push(l) : l.config.layers && walk(l.config.layers)))
    walk(topo.config.layers as Layer[])
    const conv = convs[0]
    const before = process.memoryUsage().rss
    conv.config.filters = 1_000_000_000
    expect(() => new KerasBNNet(topo, { source: 'crafted/model.json' })).toThrow(/crafted\/model\.json: filters of '.*' must be an integer in \[1, 16384\] \(got 1000000000\)/)
    conv.config.filters = 16
    const last = convs[convs.length - 1]
    last.config.filters = 16384
    last.config.kernel_size = [31, 31]
    expect(() => new KerasBNNet(topo, { source: 'crafted/model.json' })).toThrow(/would hold \d+ weights, more than 67108864/)
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024)
  })
})
