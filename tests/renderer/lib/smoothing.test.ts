import { describe, expect, it } from 'vitest'
import { emaSmooth } from '../../../src/renderer/src/lib/smoothing'

describe('emaSmooth', () => {
  it('returns the values unchanged at weight 0', () => {
    expect(emaSmooth([3, 1, 2], 0)).toEqual([3, 1, 2])
  })
  it('is debiased: a constant curve stays constant from the first point', () => {
    for (const v of emaSmooth([2, 2, 2, 2], 0.9)) expect(v).toBeCloseTo(2, 12)
  })
  it('matches the recurrence s_t = w s_{t-1} + (1 - w) x_t divided by 1 - w^t', () => {
    const w = 0.6
    const xs = [1, 3, 2, 5]
    let acc = 0
    const expected = xs.map((x, i) => {
      acc = w * acc + (1 - w) * x
      return acc / (1 - w ** (i + 1))
    })
    const got = emaSmooth(xs, w)
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i], 12))
    expect(got[0]).toBeCloseTo(1, 12)
    // smoothing reduces the jump to the outlier
    expect(got[3]).toBeLessThan(5)
  })
  it('passes non-finite values through without updating the average', () => {
    const got = emaSmooth([1, Number.NaN, 1], 0.5)
    expect(Number.isNaN(got[1])).toBe(true)
    expect(got[2]).toBeCloseTo(1, 12)
  })
})
