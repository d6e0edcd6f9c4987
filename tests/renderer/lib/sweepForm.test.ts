import { describe, expect, it } from 'vitest'
import { SWEEPS, defaultRecipe } from '../../../src/shared/recipes'
import type { ExperimentSpec } from '../../../src/shared/experiments'
import type { HeadLrGrid, HeadProbeResult } from '../../../src/shared/headProbe'
import { countRuns } from '../../../src/renderer/src/lib/estimate'
import {
  buildSweep,
  daftStep1Label,
  daftStep2Label,
  defaultSweepForm,
  fmtHeadLr,
  gridLabel,
  paperGridOf,
  paperGridText,
  parseGrid,
  probeKey,
  sweptMethods,
  withExtendedGrid,
  withPaperGrid,
} from '../../../src/renderer/src/lib/sweepForm'

const grid: HeadLrGrid = { step1: 0.3, step2: [0.1, 0.03, 0.01, 0.003], unstable: [10, 3, 1], deviates: true, note: 'extended' }

describe('sweep form', () => {
  it("names the paper's grids (SWEEPS) and the user's own", () => {
    expect(paperGridOf('FT', [...SWEEPS.FT])).toBe('FT')
    expect(paperGridOf('LP-FT', [...SWEEPS['LP-FT-swav']])).toBe('LP-FT-swav')
    expect(paperGridOf('LP-FT', [...SWEEPS.FT])).toBeNull()
    expect(gridLabel('FT', parseGrid(paperGridText('FT')).values)).toBe("paper's FT grid: η 0.3 … 1e-4")
    expect(gridLabel('LP-FT', parseGrid(paperGridText('LP-FT')).values)).toBe("paper's LP-FT grid (MoCo, CLIP): η 1e-4 … 3e-7")
    expect(gridLabel('LP-FT', parseGrid(paperGridText('LP-FT-swav')).values)).toBe("paper's LP-FT grid (SwAV): η 0.01 … 3e-6")
    expect(gridLabel('DAFT', parseGrid(paperGridText('DAFT-step1')).values)).toBe("paper's DAFT step-1 grid: η_θ 0.1 … 3e-6")
    expect(gridLabel('FT', [0.1, 0.01])).toBe("custom grid (not one of the paper's)")
  })
  it('says what DAFT steps 1 and 2 really run', () => {
    expect(fmtHeadLr(1)).toBe('1.0')
    expect(fmtHeadLr(0.3)).toBe('0.3')
    expect(daftStep1Label(1)).toBe("η_θ grid at η_w = 1.0 (the paper's)")
    expect(daftStep1Label(0.3)).toBe("η_θ grid at η_w = 0.3 (the paper's is 1.0)")
    expect(daftStep2Label([...SWEEPS['DAFT-step2']], 1)).toBe("η_w over {10, 3, 0.3, 0.1} at the best η_θ (the paper's grid)")
    expect(daftStep2Label([10, 1, 0.1], 1)).toBe("η_w over {10, 0.1} at the best η_θ; η_w = 1.0 is step 1's result")
    expect(daftStep2Label([1], 1)).toBe("no step 2 (every η_w listed is step 1's 1.0)")
  })
  it('parses grids in (0, 100]', () => {
    expect(parseGrid('0.1, 0.01')).toEqual({ values: [0.1, 0.01], errors: [] })
    expect(parseGrid('').errors).toEqual(['list at least one learning rate'])
    expect(parseGrid('0, 200').errors).toEqual(['learning rates must be in (0, 100]'])
    expect(parseGrid('x').errors).toEqual(["'x' is not a number"])
  })
  it('builds nothing until a method is swept', () => {
    expect(buildSweep(defaultSweepForm(0), ['FT', 'DAFT'], 0)).toEqual({ errors: [] })
    expect(sweptMethods(['LP', 'DAFT', 'FT', 'custom'])).toEqual(['FT', 'DAFT'])
  })
  it("builds DAFT's sweep with the paper's head rates, and [] when step 2 is off", () => {
    const f = defaultSweepForm(1)
    f.on.DAFT = true
    f.on.FT = true
    const { sweep, errors } = buildSweep(f, ['FT', 'DAFT'], 0)
    expect(errors).toEqual([])
    expect(sweep).toEqual({ lr: { FT: [...SWEEPS.FT], DAFT: [...SWEEPS['DAFT-step1']] }, sweepSeed: 1, daftStep1HeadLr: 1, daftHeadLr: [10, 3, 0.3, 0.1], daftHeadLrMode: 'paper' })
    const off = buildSweep({ ...f, step2: false }, ['FT', 'DAFT'], 0).sweep!
    expect(off.daftHeadLr).toEqual([])
    // counts: FT grid + DAFT step 1 + step 2 (4 head rates by default, none when off) + finals
    const spec = { methods: [defaultRecipe('FT'), defaultRecipe('DAFT')], seeds: [0, 1, 2], sweep }
    expect(countRuns(spec).sweep).toBe(SWEEPS.FT.length + SWEEPS['DAFT-step1'].length + 4)
    expect(countRuns({ ...spec, sweep: off }).sweep).toBe(SWEEPS.FT.length + SWEEPS['DAFT-step1'].length)
  })
  it('reports invalid grids instead of dropping them silently', () => {
    const f = defaultSweepForm(0)
    f.on.FT = true
    f.on.DAFT = true
    f.grid.FT = '0.1, abc'
    f.step2Grid = ''
    f.seed = -1
    const { sweep, errors } = buildSweep(f, ['FT', 'DAFT'], 2)
    expect(errors).toEqual(["sweep FT: 'abc' is not a number", 'sweep DAFT step 2: list at least one head learning rate (or untick step 2)', 'sweep seed: a non-negative integer'])
    expect(Object.keys(sweep!.lr)).toEqual(['DAFT'])
    expect(sweep!.sweepSeed).toBe(2)
    // an unticked sweep's grid is not checked
    expect(buildSweep({ ...f, on: { FT: false, 'LP-FT': false, DAFT: true }, step2: false, seed: 0 }, ['FT', 'DAFT'], 0).errors).toEqual([])
  })
  it("applies the probe's extended grid as a labelled deviation, and goes back to the paper's", () => {
    const f = { ...defaultSweepForm(0), on: { FT: false, 'LP-FT': false, DAFT: true } }
    const ext = withExtendedGrid(f, grid)
    const probe = { result: { points: [] } as unknown as HeadProbeResult, grid }
    const { sweep } = buildSweep(ext, ['DAFT'], 0, probe)
    expect(sweep).toMatchObject({ daftStep1HeadLr: 0.3, daftHeadLr: [0.1, 0.03, 0.01, 0.003], daftHeadLrMode: 'extended', headProbe: probe })
    expect(daftStep1Label(ext.step1HeadLr)).toContain("the paper's is 1.0")
    expect(countRuns({ methods: [defaultRecipe('DAFT')], seeds: [0], sweep }).sweep).toBe(SWEEPS['DAFT-step1'].length + 4)
    const back = buildSweep(withPaperGrid(ext), ['DAFT'], 0).sweep!
    expect(back).toMatchObject({ daftStep1HeadLr: 1, daftHeadLr: [10, 3, 0.3, 0.1], daftHeadLrMode: 'paper' })
    expect(back.headProbe).toBeUndefined()
  })
  it('keys the probe on the model, the data and the DAFT batch size', () => {
    const spec = {
      name: 'x',
      model: { path: '/m.th' },
      data: { id: { root: '/d' }, valFraction: 0.1, splitSeed: 0, ood: {}, size: 32, normalize: 'imagenet', augment: [] },
      methods: [defaultRecipe('FT'), defaultRecipe('DAFT')],
      seeds: [0],
    } as ExperimentSpec
    const k = probeKey(spec)
    expect(probeKey(undefined)).toBe('')
    expect(probeKey({ ...spec, name: 'renamed', seeds: [0, 1] })).toBe(k)
    expect(probeKey({ ...spec, methods: [defaultRecipe('FT'), { ...defaultRecipe('DAFT'), lr: { backbone: 1, head: 1 } }] })).toBe(k)
    expect(probeKey({ ...spec, methods: [defaultRecipe('FT'), { ...defaultRecipe('DAFT'), batchSize: 32 }] })).not.toBe(k)
    expect(probeKey({ ...spec, data: { ...spec.data, size: 64 } })).not.toBe(k)
    expect(probeKey({ ...spec, model: { path: '/other.th' } })).not.toBe(k)
  })
})
