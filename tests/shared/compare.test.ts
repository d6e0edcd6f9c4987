import { describe, expect, it } from 'vitest'
import { mean, std } from '../../src/shared/compare'

describe('std', () => {
  it('is exactly 0 for equal values, where (x + x + x) / 3 is not x', () => {
    const x = 0.1
    expect(mean([x, x, x])).not.toBe(x) // the floating-point trap the shifted mean avoids
    expect(std([x, x, x])).toBe(0)
    expect(std([0.7133333333333334, 0.7133333333333334, 0.7133333333333334])).toBe(0)
  })

  it('is the sample standard deviation (n - 1), 0 for a single value', () => {
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935, 9)
    expect(std([1e9 + 1, 1e9 + 2, 1e9 + 3])).toBeCloseTo(1, 9)
    expect(std([42])).toBe(0)
  })
})
