import { beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { TorchvisionResNet } from '../../../../src/main/engine/models'
import type { StateDict } from '../../../../src/main/engine/io/types'
import { ROOT } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'

/** Reference: scripts/ref/torchvision_resnet_fixture.py (PyTorch 1.13, float64); see its docstring for the formulas. */
interface Entry { keys: string[]; eval_features: number[]; eval_logits: number[]; train_logits?: number[]; after_train?: Record<string, number[]> }
const fixture: { models: Record<'resnet18' | 'resnet50', Entry> } = JSON.parse(
  readFileSync(join(ROOT, 'tests', 'fixtures', 'bn-conversion', 'torchvision_resnet.json'), 'utf8'),
)

function formulaStateDict(net: TorchvisionResNet): StateDict {
  const sd: StateDict = new Map()
  const shapes = net.stateDict()
  ;[...shapes.entries()].forEach(([name, h], k) => {
    const n = h.data.length
    const v = new Float32Array(n)
    const fanIn = n / h.shape[0]
    for (let i = 0; i < n; i++) {
      const s = Math.sin(0.7 * i + 1.3 * k)
      if (name.endsWith('running_var')) v[i] = 1 + 0.5 * s * s
      else if (name.endsWith('running_mean') || name.endsWith('bias')) v[i] = 0.1 * s
      else if (h.shape.length === 1) v[i] = 1 + 0.1 * s
      else v[i] = Math.sqrt(2 / fanIn) * Math.SQRT2 * s
    }
    sd.set(name, { shape: h.shape, dtype: 'float32', data: v })
  })
  return sd
}

function input(): tf.Tensor4D {
  const [N, C, H, W] = [2, 3, 64, 64]
  const d = new Float32Array(N * H * W * C)
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) d[((n * H + h) * W + w) * C + c] = 0.5 * Math.sin(0.3 * h + 0.7 * w + 1.1 * c + 2.3 * n) + 0.2 * Math.cos(0.013 * h * w)
  return tf.tensor4d(d, [N, H, W, C])
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let d = 0
  let m = 0
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]))
    m = Math.max(m, Math.abs(b[i]))
  }
  return d / m
}

describe('torchvision ResNet vs PyTorch (deterministic weights)', () => {
  beforeAll(async () => useBackend('wasm'))

  for (const arch of ['resnet18', 'resnet50'] as const) {
    it(`${arch}: same state-dict keys in the same order, eval features and logits match`, () => {
      const ref = fixture.models[arch]
      const net = new TorchvisionResNet(arch, 10)
      expect([...net.stateDict().keys()]).toEqual(ref.keys)
      net.loadStateDict(formulaStateDict(net))
      const x = input()
      const f = net.features(x, 'eval')
      const y = net.forward(x, 'eval')
      const ef = relErr(f.dataSync(), ref.eval_features)
      const ey = relErr(y.dataSync(), ref.eval_logits)
      console.log(`${arch} vs PyTorch: features ${ef.toExponential(2)}, logits ${ey.toExponential(2)}`)
      expect(ef).toBeLessThan(1e-4)
      expect(ey).toBeLessThan(1e-4)
      if (ref.train_logits && ref.after_train) {
        const yt = net.forward(x, 'train')
        expect(relErr(yt.dataSync(), ref.train_logits)).toBeLessThan(1e-4)
        const sd = net.stateDict()
        for (const [k, v] of Object.entries(ref.after_train)) expect(relErr(sd.get(k)!.data, v), k).toBeLessThan(1e-5)
        yt.dispose()
      }
      tf.dispose([x, f, y])
      net.dispose()
    })
  }
})
