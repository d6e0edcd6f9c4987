import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPretrained, type BNNet } from '../../../../src/main/engine/models'
import { convertBatchNorm } from '../../../../src/main/engine/methods/convertBatchNorm'
import { DEFAULT_SHIFT_THRESHOLDS, domainShift, layerShifts, targetStatistics } from '../../../../src/main/engine/analysis/domainShift'
import { CIFAR_RESNET, DIGITS, SHARED_DATA } from '../../../helpers/paths'
import { useBackend } from '../nn/tfBackend'
import { CIFAR_CLASSES, DIGIT_CLASSES, loadBatches } from './data'

const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')

describe('domainShift scores (pure)', () => {
  it('zero for identical statistics, the formulas otherwise, eps-guarded zero variances', () => {
    const same = { name: 'bn1', stage: 'stem', Ms: [1, 2], Ss: [4, 1], Mt: [1, 2], St: [4, 1] }
    const [z] = layerShifts([same as never])
    expect([z.meanShift, z.varShift, z.combined]).toEqual([0, 0, 0])
    const eps = 1e-5
    const moved = { name: 'layer1.0.bn1', stage: 'stage 1', eps, Ms: [1, 2], Ss: [4, 1], Mt: [3, 1], St: [9, 0.25] }
    const [s] = layerShifts([moved as never])
    expect(s.meanShift).toBeCloseTo((2 / Math.sqrt(4 + eps) + 1 / Math.sqrt(1 + eps)) / 2, 12)
    expect(s.varShift).toBeCloseTo((Math.abs(Math.log((9 + eps) / (4 + eps))) + Math.abs(Math.log((0.25 + eps) / (1 + eps)))) / 2, 12)
    expect(s.combined).toBeCloseTo((s.meanShift + s.varShift) / 2, 12)
    const dead = layerShifts([{ name: 'd', stage: 'stem', Ms: [0], Ss: [0], Mt: [0.001], St: [0] } as never])[0]
    expect(Number.isFinite(dead.meanShift) && Number.isFinite(dead.varShift)).toBe(true)
    expect(dead.varShift).toBe(0)
    expect(() => layerShifts([{ name: 'layer2.1.bn2', stage: 'stage 2', Ms: [1], Ss: [1, 2], Mt: [1], St: [1] } as never])).toThrow(/layer2\.1\.bn2/)
    const r = domainShift([same as never, moved as never])
    expect(r.combined).toBeCloseTo(s.combined / 2, 12)
    expect(r.verdict).toBe(s.combined / 2 < DEFAULT_SHIFT_THRESHOLDS.near ? 'near' : s.combined / 2 >= DEFAULT_SHIFT_THRESHOLDS.far ? 'far' : 'moderate')
    expect(r.text).toContain('layer1.0.bn1')
  })
})

describe('targetStatistics + domain shift on real data (resnet20)', () => {
  let net: BNNet
  beforeAll(async () => {
    await useBackend('wasm')
    net = await loadPretrained(RESNET20)
  })
  afterAll(() => net.dispose())

  it('gives the statistics convertBatchNorm uses, without touching the model', async () => {
    const batches = await loadBatches(join(DIGITS, 'mnist_m', 'test'), DIGIT_CLASSES, 6, 20)
    const before = net.stateDict()
    const stats = await targetStatistics(net, batches)
    expect(stats.batches).toBe(3)
    expect(stats.samples).toBe(60)
    const after = net.stateDict()
    for (const [k, v] of before) expect(Buffer.from(after.get(k)!.data.buffer).equals(Buffer.from(v.data.buffer)), k).toBe(true)
    // the same batches through the real BN conversion (on a second copy of the model)
    const copy = await loadPretrained(RESNET20)
    const conv = await convertBatchNorm(copy, batches.map((b) => b.x))
    copy.dispose()
    expect(stats.layers.map((l) => [l.name, l.stage])).toEqual(conv.layers.map((l) => [l.name, l.stage]))
    stats.layers.forEach((l, i) => {
      expect(Array.from(l.Ms)).toEqual(Array.from(conv.layers[i].Ms))
      expect(Array.from(l.Ss)).toEqual(Array.from(conv.layers[i].Ss))
      l.Mt.forEach((v, c) => expect(Math.abs(v - conv.layers[i].Mt[c])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))))
      l.St.forEach((v, c) => expect(Math.abs(v - conv.layers[i].St[c])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))))
      expect(l.eps).toBe(1e-5)
    })
    batches.forEach((b) => b.x.dispose())
  })

  it('digits (grey MNIST, USPS) score far above the CIFAR-10 test set', async () => {
    const scores: Record<string, ReturnType<typeof domainShift>> = {}
    for (const [name, root, classes] of [
      ['cifar10 test', join(SHARED_DATA, 'cifar10-jpeg', 'test'), CIFAR_CLASSES],
      ['mnist_m', join(DIGITS, 'mnist_m', 'test'), DIGIT_CLASSES],
      ['usps', join(DIGITS, 'usps', 'test'), DIGIT_CLASSES],
      ['mnist', join(DIGITS, 'mnist', 'test'), DIGIT_CLASSES],
    ] as const) {
      const batches = await loadBatches(root, classes as unknown as string[], 20, 100)
      scores[name] = domainShift((await targetStatistics(net, batches, { disposeBatches: true })).layers)
    }
    console.log(Object.entries(scores).map(([k, r]) => `${k}: combined ${r.combined.toFixed(3)} (mean ${r.meanShift.toFixed(3)}, var ${r.varShift.toFixed(3)}) ${r.verdict}`).join('\n'))
    expect(scores['cifar10 test'].verdict).toBe('near')
    for (const far of ['usps', 'mnist']) {
      expect(scores[far].combined).toBeGreaterThan(scores['cifar10 test'].combined + 0.1)
      expect(scores[far].meanShift).toBeGreaterThan(1.5 * scores['cifar10 test'].meanShift)
      expect(scores[far].verdict).toBe('far')
    }
    // MNIST-M keeps natural-image textures: its deepest stage moves more than CIFAR's (overall it scores near)
    const stage3 = (r: ReturnType<typeof domainShift>): number => {
      const l = r.layers.filter((x) => x.stage === 'stage 3')
      return l.reduce((s, x) => s + x.combined, 0) / l.length
    }
    expect(stage3(scores.mnist_m)).toBeGreaterThan(stage3(scores['cifar10 test']))
  })
})
