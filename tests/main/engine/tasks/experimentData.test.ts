import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { loadExperimentSamples, stratifiedSubset } from '../../../../src/main/engine/tasks/experimentData'
import { DIGITS } from '../../../helpers/paths'

const countBy = (xs: { label: number }[]): Map<number, number> => {
  const m = new Map<number, number>()
  for (const x of xs) m.set(x.label, (m.get(x.label) ?? 0) + 1)
  return m
}

describe('stratifiedSubset', () => {
  it('keeps every class in proportion (inputs sorted by class must not give one class)', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => ({ label: Math.floor(i / 100), i }))
    const sub = stratifiedSubset(samples, 200, 3)
    expect(sub).toHaveLength(200)
    expect([...countBy(sub).values()]).toEqual(new Array(10).fill(20))
    expect(stratifiedSubset(samples, 200, 3)).toEqual(sub)
    expect(stratifiedSubset(samples, 200, 4)).not.toEqual(sub)
    expect(stratifiedSubset(samples, undefined, 3)).toBe(samples)
  })
})

describe('loadExperimentSamples', () => {
  it('splits ID data into train/val/test with limits, aligns OOD sets by class name, all classes present', async () => {
    const s = await loadExperimentSamples(
      {
        id: { root: join(DIGITS, 'usps'), limits: { train: 300, val: 100, test: 150 } },
        valFraction: 0.1,
        ood: { mnist: { root: join(DIGITS, 'mnist'), limit: 200 } },
        size: 32,
        normalize: 'imagenet',
        augment: [],
      },
      0,
    )
    expect(s.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    for (const part of [s.train, s.val, s.test, s.ood[0].samples]) expect(countBy(part).size).toBe(10)
    expect(Math.abs(s.train.length - 300)).toBeLessThanOrEqual(10)
    expect(Math.abs(s.test.length - 150)).toBeLessThanOrEqual(10)
    // val comes from usps/train, test from usps/test: disjoint
    const trainPaths = new Set(s.train.map((x) => x.path))
    expect(s.val.some((x) => trainPaths.has(x.path))).toBe(false)
    expect(s.test.every((x) => x.path.includes(`${join('usps', 'test')}`))).toBe(true)
    expect(s.ood[0].name).toBe('mnist')
  })

  it("one data split per experiment: the ID val hold-out and subsets follow splitSeed, not the run's seed", async () => {
    const data = (splitSeed?: number) => ({
      id: { root: join(DIGITS, 'mnist_m'), limits: { train: 200, val: 100, test: 100 } },
      valFraction: 0.1,
      ...(splitSeed === undefined ? {} : { splitSeed }),
      ood: { usps: { root: join(DIGITS, 'usps'), limit: 100 } },
      size: 32,
      normalize: 'imagenet' as const,
      augment: [],
    })
    const paths = (s: Awaited<ReturnType<typeof loadExperimentSamples>>) => [s.train, s.val, s.test, s.ood[0].samples].map((p) => p.map((x) => x.path))
    const a = await loadExperimentSamples(data(0), 0)
    const b = await loadExperimentSamples(data(0), 7)
    expect(paths(b)).toEqual(paths(a))
    const c = await loadExperimentSamples(data(1), 0)
    expect(paths(c)[1]).not.toEqual(paths(a)[1])
    // specs stored before splitSeed existed keep splitting with the run's seed
    const old0 = await loadExperimentSamples(data(), 0)
    const old7 = await loadExperimentSamples(data(), 7)
    expect(paths(old0)[1]).not.toEqual(paths(old7)[1])
  })
})
