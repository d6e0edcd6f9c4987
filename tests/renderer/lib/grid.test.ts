import { describe, expect, it } from 'vitest'
import { gridWindow } from '../../../src/renderer/src/lib/virtual'
import { histogram } from '../../../src/renderer/src/lib/histogram'
import { stageOf, stageRuns } from '../../../src/renderer/src/lib/stages'

describe('virtualised grid window', () => {
  it('renders only the visible rows plus overscan', () => {
    const w = gridWindow({ count: 10_000, width: 1000, tileWidth: 100, rowHeight: 50, scrollTop: 5000, viewportHeight: 400, overscan: 2 })
    expect(w.columns).toBe(10)
    expect(w.totalHeight).toBe(1000 * 50)
    // rows 100..108 visible, 98..110 rendered
    expect(w.start).toBe(980)
    expect(w.end).toBe(1100)
    expect(w.offsetTop).toBe(98 * 50)
  })
  it('clamps at the ends and keeps one column on narrow widths', () => {
    const w = gridWindow({ count: 7, width: 50, tileWidth: 100, rowHeight: 50, scrollTop: 0, viewportHeight: 1000 })
    expect(w.columns).toBe(1)
    expect([w.start, w.end]).toEqual([0, 7])
  })
})

describe('histogram', () => {
  it('bins values over a range, the upper edge included', () => {
    const h = histogram([0, 0.1, 0.5, 0.99, 1, 2], 2, [0, 1])
    expect(h.edges).toEqual([0, 0.5, 1])
    expect(h.counts).toEqual([2, 3])
  })
  it('normalises to fractions of all finite values', () => {
    const h = histogram([1, 2, 3, 4, Number.NaN], 4, undefined, true)
    expect(h.counts.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })
})

describe('stages', () => {
  it('groups consecutive layers of a stage', () => {
    expect(stageRuns(['stem', 'layer1', 'layer1', 'layer2', 'layer2', 'layer2'])).toEqual([
      { stage: 'stem', from: 0, to: 0 },
      { stage: 'layer1', from: 1, to: 2 },
      { stage: 'layer2', from: 3, to: 5 },
    ])
  })
  it('names the stage of PyTorch layer names', () => {
    expect(stageOf('layer2.0.bn1')).toBe('layer2')
    expect(stageOf('bn1')).toBe('stem')
    expect(stageOf('features.3.conv.1')).toBe('features.3')
  })
})
