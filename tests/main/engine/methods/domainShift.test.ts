import { describe, expect, it } from 'vitest'
import { domainShift } from '../../../../src/main/engine/methods/domainShift'

describe('domainShift', () => {
  it('is zero for identical statistics and follows the formulas otherwise', () => {
    const same = { name: 'bn1', stage: 'stem', Ms: [1, 2], Ss: [4, 1], Mt: [1, 2], St: [4, 1] }
    expect(domainShift([same])).toEqual([{ name: 'bn1', stage: 'stem', meanShift: 0, varShift: 0 }])
    const moved = { name: 'layer1.0.bn1', stage: 'stage 1', Ms: [1, 2], Ss: [4, 1], Mt: [3, 1], St: [4 * Math.E, 1 / Math.E ** 2] }
    const [s] = domainShift([moved])
    expect(s.meanShift).toBeCloseTo((2 / 2 + 1 / 1) / 2, 12)
    expect(s.varShift).toBeCloseTo((1 + 2) / 2, 12)
  })

  it('names the layer when lengths disagree', () => {
    expect(() => domainShift([{ name: 'layer2.1.bn2', stage: 'stage 2', Ms: [1], Ss: [1, 2], Mt: [1], St: [1] }])).toThrow(/layer2\.1\.bn2/)
  })
})
