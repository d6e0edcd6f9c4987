/**
 * A whole conv-net gradient on wasm equals the cpu backend's: a small ResNet-style block (strided conv, option-A
 * shortcut via strided slicing, batch-statistics BatchNorm) and a MobileNetV2-style inverted residual (1x1 conv,
 * depthwise conv with multiplier 1 and 2, ReLU6), max/avg pooling, a gathered embedding, the fused conv /
 * depthwise / matMul ops tfjs-layers models use, and softmax cross-entropy. This is the check that no kernel or
 * gradient a training step needs is missing on wasm.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { relativeError, runOn, seededValues } from './compare'

const shapes: Record<string, number[]> = {
  stem: [3, 3, 3, 8],
  'layer1.conv1': [3, 3, 8, 16],
  'layer1.bn1.weight': [16],
  'layer1.bn1.bias': [16],
  'layer1.conv2': [3, 3, 16, 16],
  expand: [1, 1, 16, 32],
  dw: [3, 3, 32, 1],
  dw2: [5, 5, 32, 2],
  project: [1, 1, 64, 16],
  embedding: [4, 16],
  'fused.weight': [3, 3, 16, 16],
  'fused.bias': [16],
  'fusedDw.weight': [3, 3, 16, 1],
  'fusedDw.bias': [16],
  'linear.weight': [16, 5],
  'linear.bias': [5],
}
const BATCH = 3

function network(p: Record<string, tf.Tensor>, x: tf.Tensor4D, labels: tf.Tensor2D, groups: tf.Tensor1D): tf.Scalar {
  // (under a gradient tfjs 4.22's tf.batchNorm needs both scale and offset tensors: it crashes on undefined ones)
  const bn = (t: tf.Tensor4D, g?: tf.Tensor, b?: tf.Tensor) => {
    const { mean, variance } = tf.moments(t, [0, 1, 2])
    return tf.batchNorm(t, mean, variance, b ?? tf.zerosLike(mean), g ?? tf.onesLike(mean), 1e-5) as tf.Tensor4D
  }
  let h = tf.relu(bn(tf.conv2d(x, p.stem as tf.Tensor4D, 1, 'same'))) // [B, 11, 11, 8]
  // BasicBlock with stride 2 and the option-A shortcut
  const out = tf.relu(bn(tf.conv2d(h, p['layer1.conv1'] as tf.Tensor4D, 2, 'same'), p['layer1.bn1.weight'], p['layer1.bn1.bias']))
  const out2 = bn(tf.conv2d(out, p['layer1.conv2'] as tf.Tensor4D, 1, 'same')) // [B, 6, 6, 16]
  const short = tf.pad(tf.stridedSlice(h, [0, 0, 0, 0], h.shape, [1, 2, 2, 1]), [[0, 0], [0, 0], [0, 0], [4, 4]])
  h = tf.relu(tf.add(out2, short as tf.Tensor4D))
  // inverted residual: expand, depthwise (x1 then a valid 5x5 x2), project
  let e = tf.relu6(bn(tf.conv2d(h, p.expand as tf.Tensor4D, 1, 'valid')))
  e = tf.relu6(bn(tf.depthwiseConv2d(e, p.dw as tf.Tensor4D, 1, 'same')))
  e = tf.relu6(tf.depthwiseConv2d(tf.pad(e, [[0, 0], [2, 2], [2, 2], [0, 0]]), p.dw2 as tf.Tensor4D, 2, 'valid')) // [B,3,3,64]
  const proj = bn(tf.conv2d(e, p.project as tf.Tensor4D, 1, 'valid'))
  const pooled = tf.maxPool(h, 3, 2, 'same') // [B, 3, 3, 16]
  h = tf.add(proj, pooled)
  // the fused ops tfjs-layers models use (bias + activation folded into the kernel)
  h = tf.fused.conv2d({ x: h, filter: p['fused.weight'] as tf.Tensor4D, strides: 1, pad: 'same', bias: p['fused.bias'], activation: 'relu' })
  h = tf.fused.depthwiseConv2d({ x: h, filter: p['fusedDw.weight'] as tf.Tensor4D, strides: 1, pad: 'same', bias: p['fusedDw.bias'] })
  h = tf.avgPool(h, 2, 1, 'valid') // [B, 2, 2, 16]
  const feat = tf.add(tf.mean(h, [1, 2]), tf.gather(p.embedding, groups)) as tf.Tensor2D
  const logits = tf.fused.matMul({ a: feat, b: p['linear.weight'] as tf.Tensor2D, bias: p['linear.bias'] })
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar
}

beforeAll(async () => {
  await initBackend({ force: 'wasm' })
  // (no IS_TEST leak check here: it flags tfjs's own fused ops on wasm, whose saved clones are copies)
})

describe('a full conv-net gradient on wasm', () => {
  it('equals the cpu backend gradient within 1e-4 relative for every parameter', async () => {
    const names = Object.keys(shapes)
    const init = names.map((n, i) => seededValues(tf.util.sizeFromShape(shapes[n]), 100 + i).map((v) => v * 0.5))
    const xValues = seededValues(BATCH * 11 * 11 * 3, 7)
    const labelIdx = [1, 4, 0]
    const run = () => {
      const p = Object.fromEntries(names.map((n, i) => [n, tf.tensor(init[i], shapes[n])]))
      const x = tf.tensor4d(xValues, [BATCH, 11, 11, 3])
      const labels = tf.oneHot(tf.tensor1d(labelIdx, 'int32'), 5) as tf.Tensor2D
      const groups = tf.tensor1d([0, 2, 2], 'int32')
      const f = (...params: tf.Tensor[]) => network(Object.fromEntries(names.map((n, i) => [n, params[i]])), x, labels, groups)
      const { value, grads } = tf.valueAndGrads(f)(names.map((n) => p[n]))
      return [value, ...grads]
    }
    const before = tf.memory().numTensors
    const wasmBackend = tf.findBackend('wasm')!
    const dataIdsBefore = wasmBackend.numDataIds()
    const wasm = await runOn('wasm', run)
    expect(tf.memory().numTensors).toBe(before)
    expect(wasmBackend.numDataIds()).toBe(dataIdsBefore) // nothing left behind on the wasm heap
    const cpu = await runOn('cpu', run)
    expect(relativeError(wasm[0], cpu[0])).toBeLessThan(1e-5) // the loss
    names.forEach((n, i) => {
      const err = relativeError(wasm[i + 1], cpu[i + 1])
      expect(Math.max(...Array.from(cpu[i + 1], Math.abs)), `${n} gradient is all zero`).toBeGreaterThan(0)
      expect(err, `${n}: relative error ${err}`).toBeLessThan(1e-4)
    })
  })
})
