import { describe, expect, it } from 'vitest'
import { Rng, fork, seedState } from '../../src/shared/random'

const draw = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.nextUint32())

describe('seeded RNG', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    expect(draw(new Rng(42), 20)).toEqual(draw(new Rng(42), 20))
    expect(draw(new Rng(42), 20)).not.toEqual(draw(new Rng(43), 20))
    expect(draw(new Rng('run-7'), 5)).toEqual(draw(new Rng('run-7'), 5))
  })

  it('resumes exactly from a saved state (JSON round trip)', () => {
    const r = new Rng(1)
    draw(r, 17)
    const saved = JSON.parse(JSON.stringify(r.getState()))
    const expected = [r.random(), r.randint(0, 10), r.normal(), ...draw(r, 5)]
    const resumed = Rng.fromState(saved)
    expect([resumed.random(), resumed.randint(0, 10), resumed.normal(), ...draw(resumed, 5)]).toEqual(expected)
    expect(() => resumed.setState([1, 2, 3] as never)).toThrow(/four unsigned 32-bit/)
  })

  it('derives independent, reproducible streams with fork', () => {
    const a = fork(5, 'shuffle', 0).permutation(50)
    expect(fork(5, 'shuffle', 0).permutation(50)).toEqual(a)
    expect(fork(5, 'shuffle', 1).permutation(50)).not.toEqual(a)
    expect(fork(5, 'augment', 0).permutation(50)).not.toEqual(a)
    expect(seedState(5, 'shuffle', 0)).not.toEqual(seedState(5, 'shuffle0'))
  })

  it('random() is uniform in [0, 1) with mean ~0.5', () => {
    const r = new Rng(3)
    let sum = 0
    let outside = 0
    for (let i = 0; i < 20000; i++) {
      const u = r.random()
      if (!(u >= 0 && u < 1)) outside++
      sum += u
    }
    expect(outside).toBe(0)
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01)
  })

  it('randint covers [lo, hi) evenly and rejects bad ranges', () => {
    const r = new Rng(9)
    const counts = new Array(7).fill(0)
    for (let i = 0; i < 70000; i++) counts[r.randint(-3, 4) + 3]++
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500)
    expect(() => r.randint(2, 2)).toThrow(/lo < hi/)
  })

  it('normal() has the requested mean and standard deviation', () => {
    const r = new Rng(11)
    const n = 20000
    const xs = Array.from({ length: n }, () => r.normal(2, 3))
    const mean = xs.reduce((a, b) => a + b, 0) / n
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1))
    expect(Math.abs(mean - 2)).toBeLessThan(0.1)
    expect(Math.abs(sd - 3)).toBeLessThan(0.1)
  })

  it('shuffle permutes in place and keeps every element', () => {
    const arr = Array.from({ length: 100 }, (_, i) => i)
    const out = new Rng(4).shuffle(arr)
    expect(out).toBe(arr)
    expect([...arr].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(arr).not.toEqual(Array.from({ length: 100 }, (_, i) => i))
    // every position receives every value about equally often
    const firstCounts = new Array(4).fill(0)
    const r = new Rng(8)
    for (let i = 0; i < 8000; i++) firstCounts[r.shuffle([0, 1, 2, 3])[0]]++
    for (const c of firstCounts) expect(Math.abs(c - 2000)).toBeLessThan(200)
  })
})
