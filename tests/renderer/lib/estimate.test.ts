import { describe, expect, it } from 'vitest'
import { ABLATIONS, SWEEPS, defaultRecipe } from '../../../src/shared/recipes'
import { countRuns, daftStep2Rates, estimateSeconds, medianThroughput } from '../../../src/renderer/src/lib/estimate'

describe('run count and duration estimate', () => {
  it('counts methods x seeds without a sweep', () => {
    const spec = { methods: [defaultRecipe('LP'), defaultRecipe('FT'), defaultRecipe('DAFT')], seeds: [0, 1, 2] }
    expect(countRuns(spec)).toEqual({ sweep: 0, final: 9, total: 9 })
  })
  it('adds one sweep run per learning rate, DAFT step 2 only with step 1, none for LP or ablations', () => {
    const spec = {
      methods: [defaultRecipe('LP'), defaultRecipe('FT'), defaultRecipe('DAFT'), ABLATIONS[0].recipe],
      seeds: [0, 1],
      sweep: { lr: { FT: [...SWEEPS.FT], DAFT: [...SWEEPS['DAFT-step1']], LP: [1, 2] }, daftHeadLr: [...SWEEPS['DAFT-step2']], sweepSeed: 0 },
    }
    const c = countRuns(spec)
    expect(c.sweep).toBe(SWEEPS.FT.length + SWEEPS['DAFT-step1'].length + SWEEPS['DAFT-step2'].length)
    expect(c.final).toBe(8)
    const noStep1 = countRuns({ ...spec, sweep: { lr: { FT: [0.1] }, daftHeadLr: [10, 3], sweepSeed: 0 } })
    expect(noStep1.sweep).toBe(1)
  })
  it("runs DAFT step 2 over the paper's 4 head rates by default, none with [], never step 1's eta_w again", () => {
    const daft = defaultRecipe('DAFT')
    const step1 = [0.01, 0.001]
    const spec = { methods: [daft], seeds: [0, 1, 2], sweep: { lr: { DAFT: step1 }, sweepSeed: 0 } }
    expect(daftStep2Rates(spec.sweep)).toEqual([10, 3, 0.3, 0.1])
    expect(countRuns(spec)).toEqual({ sweep: 2 + 4, final: 3, total: 9 })
    expect(countRuns({ ...spec, sweep: { ...spec.sweep, daftHeadLr: [] } }).sweep).toBe(2)
    // step 1's result stands for its eta_w: listing it again adds no run
    expect(countRuns({ ...spec, sweep: { ...spec.sweep, daftHeadLr: [10, 3, 1, 0.3, 0.1] } }).sweep).toBe(2 + 4)
    expect(countRuns({ ...spec, sweep: { ...spec.sweep, daftStep1HeadLr: 0.3, daftHeadLr: [1, 0.3, 0.1] } }).sweep).toBe(2 + 2)
    // a DAFT recipe that does not train its backbone, or no DAFT step 1: no step 2
    expect(countRuns({ ...spec, methods: [{ ...daft, trainBackbone: false }] }).sweep).toBe(0)
    expect(daftStep2Rates({ lr: { FT: [0.1] }, sweepSeed: 0 })).toEqual([])
    expect(daftStep2Rates(undefined)).toEqual([])
    // the duration counts the same runs: (2 + 4) sweep + 3 finals, 1 epoch x (100 / 100 + 0) s each
    expect(estimateSeconds({ ...spec, methods: [{ ...daft, epochs: 1 }] }, { train: 100, eval: 0 }, 100)).toBeCloseTo(9, 9)
  })
  it('is unknown without a measured throughput', () => {
    expect(estimateSeconds({ methods: [defaultRecipe('FT')], seeds: [0] }, { train: 1000, eval: 300 }, null)).toBeNull()
  })
  it('scales with epochs, images and runs', () => {
    const ft = { ...defaultRecipe('FT'), epochs: 2 }
    // 2 epochs x (1000 / 100 + 300 / 300) = 22 s per run, 2 seeds
    expect(estimateSeconds({ methods: [ft], seeds: [0, 1] }, { train: 1000, eval: 300 }, 100)).toBeCloseTo(44, 9)
    // LP: one forward pass over train + eval
    expect(estimateSeconds({ methods: [defaultRecipe('LP')], seeds: [0] }, { train: 1000, eval: 200 }, 100)).toBeCloseTo(4, 9)
    // a sweep of 3 learning rates adds 3 runs
    expect(estimateSeconds({ methods: [ft], seeds: [0], sweep: { lr: { FT: [0.1, 0.01, 0.001] }, sweepSeed: 0 } }, { train: 1000, eval: 300 }, 100)).toBeCloseTo(88, 9)
  })
  it('takes the median of positive samples', () => {
    expect(medianThroughput([])).toBeNull()
    expect(medianThroughput([0, -1, Number.NaN])).toBeNull()
    expect(medianThroughput([300, 100, 200])).toBe(200)
    expect(medianThroughput([100, 400, 200, 300])).toBe(250)
  })
})
