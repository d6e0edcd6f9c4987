import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../../src/main/engine/backend'
import { CifarResNet } from '../../../../src/main/engine/models'
import { applyBatchNormUpdates, type BatchNormUpdate, type BNMode } from '../../../../src/main/engine/nn'

/** Train steps through a real network on the project backend (wasm with the registered backward kernels). */
describe('training steps through CifarResNet', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' })
  })

  const setup = (): { net: CifarResNet; x: tf.Tensor4D; labels: tf.Tensor2D } => ({
    net: new CifarResNet('resnet20', 10, { seed: 4 }),
    x: tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D,
    labels: tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10) as tf.Tensor2D,
  })

  const step = (net: CifarResNet, x: tf.Tensor4D, labels: tf.Tensor2D, params: tf.Variable[], bn: BNMode): number => {
    const pending: BatchNormUpdate[] = []
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, net.forward(x, { bn, statUpdates: pending })) as tf.Scalar, params)
    tf.tidy(() => {
      for (const p of params) p.assign(p.sub(grads[p.name].mul(0.05)))
    })
    applyBatchNormUpdates(pending)
    const loss = value.dataSync()[0]
    tf.dispose([value, ...Object.values(grads)])
    return loss
  }

  it("'train' steps: loss falls, running stats move, numTensors stays constant", () => {
    const { net, x, labels } = setup()
    const params = net.parameters()
    const rv0 = Array.from(net.bnLayers()[5].bn.runningVar.dataSync())
    step(net, x, labels, params, 'train')
    const base = tf.memory().numTensors
    const losses: number[] = []
    for (let i = 0; i < 4; i++) losses.push(step(net, x, labels, params, 'train'))
    expect(tf.memory().numTensors).toBe(base)
    expect(losses[3]).toBeLessThan(losses[0])
    expect(Array.from(net.bnLayers()[5].bn.runningVar.dataSync())).not.toEqual(rv0)
    net.dispose()
    tf.dispose([x, labels])
  })

  it("'frozen' steps (LP-FT): running stats never change, gamma/beta and convs do", () => {
    const { net, x, labels } = setup()
    const params = net.parameters()
    const buffers = () => net.namedBuffers().map(([, v]) => Array.from(v.dataSync()))
    const b0 = buffers()
    const gamma0 = Array.from(net.bn1.weight.dataSync())
    const base = tf.memory().numTensors
    for (let i = 0; i < 2; i++) step(net, x, labels, params, 'frozen')
    expect(tf.memory().numTensors).toBe(base)
    expect(buffers()).toEqual(b0)
    expect(Array.from(net.bn1.weight.dataSync())).not.toEqual(gamma0)
    net.dispose()
    tf.dispose([x, labels])
  })

  it('LP: only the head parameters change when only they are differentiated', () => {
    const { net, x, labels } = setup()
    const backbone0 = net.backboneParameters().map((v) => Array.from(v.dataSync()))
    const head0 = Array.from(net.head.weight.dataSync())
    step(net, x, labels, net.headParameters(), 'eval')
    expect(net.backboneParameters().map((v) => Array.from(v.dataSync()))).toEqual(backbone0)
    expect(Array.from(net.head.weight.dataSync())).not.toEqual(head0)
    net.dispose()
    tf.dispose([x, labels])
  })
})
