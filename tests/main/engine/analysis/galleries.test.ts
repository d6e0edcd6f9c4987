import { describe, expect, it } from 'vitest'
import { classGalleries, galleries } from '../../../../src/main/engine/analysis/galleries'
import { Rng } from '../../../../src/shared/random'

function randomSet(n: number, classes: number, seed: number) {
  const rng = new Rng(seed)
  const cosine = Float32Array.from({ length: n }, () => rng.uniform(-1, 1))
  // a few exact ties to exercise the tie rule
  for (let i = 0; i < 10; i++) cosine[rng.randint(0, n)] = 0.5
  const label = Int32Array.from({ length: n }, () => rng.randint(0, classes))
  const predBefore = Int32Array.from({ length: n }, () => rng.randint(0, classes))
  const predAfter = Int32Array.from({ length: n }, () => rng.randint(0, classes))
  const index = Int32Array.from(rng.permutation(n), (v) => v + 1000)
  return { cosine, label, predBefore, predAfter, index }
}

describe('galleries', () => {
  it('per class: lowest ascending, highest descending, nothing in between beats them', () => {
    const set = randomSet(500, 7, 1)
    const k = 6
    const g = classGalleries(set, k)
    expect(g.map((c) => c.label)).toEqual([0, 1, 2, 3, 4, 5, 6])
    for (const c of g) {
      const members = [...set.label.keys()].filter((i) => set.label[i] === c.label)
      expect(c.count).toBe(members.length)
      const cos = members.map((i) => set.cosine[i])
      expect(c.lowest).toHaveLength(k)
      expect(c.highest).toHaveLength(k)
      for (let i = 1; i < k; i++) {
        expect(c.lowest[i].cosine).toBeGreaterThanOrEqual(c.lowest[i - 1].cosine)
        expect(c.highest[i].cosine).toBeLessThanOrEqual(c.highest[i - 1].cosine)
      }
      const sorted = [...cos].sort((a, b) => a - b)
      expect(c.lowest.map((x) => x.cosine)).toEqual(sorted.slice(0, k))
      expect(c.highest.map((x) => x.cosine)).toEqual(sorted.slice(-k).reverse())
      // each item carries the right record of its image
      for (const item of [...c.lowest, ...c.highest]) {
        const i = set.index.indexOf(item.index)
        expect(i).toBeGreaterThanOrEqual(0)
        expect(item).toEqual({ index: item.index, cosine: set.cosine[i], label: c.label, predBefore: set.predBefore[i], predAfter: set.predAfter[i] })
      }
    }
  })

  it('breaks ties by sample index and copes with classes smaller than k', () => {
    const g = classGalleries({ cosine: [0.2, 0.9, 0.2, 0.9, -0.3], label: [1, 1, 1, 1, 4], index: [7, 3, 5, 9, 2] }, 3)
    expect(g[0].lowest.map((x) => x.index)).toEqual([5, 7, 3])
    expect(g[0].highest.map((x) => x.index)).toEqual([3, 9, 5])
    expect(g[1]).toMatchObject({ label: 4, count: 1, lowest: [{ index: 2, predBefore: -1, predAfter: -1 }], highest: [{ index: 2 }] })
  })

  it('skips unlabelled images, names the set on bad input', () => {
    const g = classGalleries({ cosine: [0.1, 0.2], label: [-1, 0] }, 2)
    expect(g).toHaveLength(1)
    expect(g[0].lowest.map((x) => x.index)).toEqual([1])
    expect(() => galleries({ 'stl test': { cosine: [0.1, 0.2], label: [0] } }, 2)).toThrow(/stl test.*label has 1 entries/)
    expect(() => classGalleries({ cosine: [0.1], label: [0] }, 0)).toThrow(/k must be/)
  })
})
