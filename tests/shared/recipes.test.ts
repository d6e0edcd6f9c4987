import { describe, expect, it } from 'vitest'
import {
  ABLATIONS, RECIPE_FIELD_HELP, SWEEPS, classifyRecipe, defaultRecipe, logGrid13, logspace, parseRecipe, validateRecipe,
  type MethodName, type Recipe,
} from '../../src/shared/recipes'

const NAMED: MethodName[] = ['LP', 'FT', 'LP-FT', 'DAFT']

describe('method recipes (paper Table 1)', () => {
  it('defaults are valid and classify as their own method', () => {
    for (const m of [...NAMED, 'custom'] as MethodName[]) {
      const r = defaultRecipe(m)
      expect(validateRecipe(r), m).toEqual([])
      if (m !== 'custom') expect(classifyRecipe(r)).toBe(m)
    }
  })

  it('encodes Table 1', () => {
    const ft = defaultRecipe('FT')
    expect([ft.headInit, ft.bnMode, ft.bnConversion, ft.lr.backbone === ft.lr.head]).toEqual(['random', 'train', false, true])
    const lpft = defaultRecipe('LP-FT')
    expect([lpft.headInit, lpft.bnMode, lpft.bnConversion, lpft.lr.backbone === lpft.lr.head]).toEqual(['lp', 'frozen', false, true])
    const daft = defaultRecipe('DAFT')
    expect([daft.headInit, daft.bnMode, daft.bnConversion, daft.lr.head]).toEqual(['zero', 'train', true, 0.1])
    expect(daft.lr.backbone).not.toBe(daft.lr.head)
    const lp = defaultRecipe('LP')
    expect([lp.trainBackbone, lp.headInit]).toEqual([false, 'lp'])
    for (const m of NAMED) {
      const r = defaultRecipe(m)
      expect([r.batchSize, r.momentum, r.weightDecay, r.schedule, r.earlyStopping]).toEqual([64, 0.9, 0, 'cosine', true])
    }
  })

  it('ablations are valid custom recipes that differ from their base in the named field', () => {
    const byId = Object.fromEntries(ABLATIONS.map((a) => [a.id, a.recipe]))
    for (const a of ABLATIONS) {
      expect(validateRecipe(a.recipe), a.id).toEqual([])
      expect(a.recipe.method).toBe('custom')
      expect(classifyRecipe(a.recipe), a.id).toBe('custom')
    }
    expect(byId['ft+bnconv'].bnConversion).toBe(true)
    expect(byId['integrated-lpft']).toMatchObject({ bnConversion: false, headInit: 'zero', lr: { head: defaultRecipe('DAFT').lr.head } })
    expect(byId['lpft+bnconv']).toMatchObject({ bnConversion: true, headInit: 'lp', bnMode: 'frozen' })
  })

  it('reports one message per problem, naming the field', () => {
    const bad = { ...defaultRecipe('custom'), lr: { backbone: -1, head: 'x' }, epochs: 2.5, momentum: 1, batchSize: 0, extra: 1 }
    const p = validateRecipe(bad)
    expect(p).toHaveLength(6)
    for (const f of ['lr.backbone', 'lr.head', 'epochs', 'momentum', 'batchSize', 'extra']) expect(p.some((m) => m.startsWith(`${f}:`)), f).toBe(true)
    expect(validateRecipe(null)).toEqual(['recipe: must be an object (got null)'])
    expect(validateRecipe({ ...defaultRecipe('FT'), headInit: 'ones' })).toEqual([expect.stringMatching(/^headInit: must be one of/)])
    expect(validateRecipe({ ...defaultRecipe('LP'), headInit: 'zero', method: 'custom' })).toEqual([expect.stringMatching(/^headInit: without backbone/)])
  })

  it('a named method with a foreign field points to custom', () => {
    const p = validateRecipe({ ...defaultRecipe('FT'), lr: { backbone: 0.01, head: 0.1 } })
    expect(p).toEqual([expect.stringMatching(/^lr: FT uses one learning rate.*'custom'/)])
    const q = validateRecipe({ ...defaultRecipe('DAFT'), bnConversion: false, headInit: 'random' })
    expect(q).toHaveLength(2)
    const edited: Recipe = { ...defaultRecipe('FT'), bnConversion: true }
    expect(classifyRecipe(edited)).toBe('custom')
    expect(classifyRecipe({ ...edited, headInit: 'zero', lr: { backbone: 0.001, head: 1 } })).toBe('DAFT')
  })

  it('parseRecipe fills defaults from the method, accepts one lr, and throws with the source name', () => {
    const r = parseRecipe({ method: 'FT', lr: 0.03, epochs: 5 }, 'demo.yaml')
    expect(r).toMatchObject({ method: 'FT', lr: { backbone: 0.03, head: 0.03 }, epochs: 5, headInit: 'random', batchSize: 64 })
    expect(parseRecipe({ method: 'DAFT', lr: { backbone: 0.001 } }).lr).toEqual({ backbone: 0.001, head: 0.1 })
    expect(() => parseRecipe({ method: 'FT', epochs: -1, momentum: 2 }, 'demo.yaml')).toThrow(/^demo\.yaml: invalid recipe:\n {2}epochs.*\n {2}momentum/)
    expect(() => parseRecipe({ method: 'XT' }, 'demo.yaml')).toThrow(/demo\.yaml: method/)
  })

  it('has a help line for every field', () => {
    for (const k of Object.keys(defaultRecipe('DAFT'))) expect(RECIPE_FIELD_HELP[k as keyof Recipe].length).toBeGreaterThan(20)
  })
})

describe('sweep grids (Hyperparameter Details)', () => {
  it('builds the 1-3 log grids', () => {
    expect(SWEEPS.FT).toEqual([0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001])
    expect(SWEEPS['LP-FT']).toEqual([1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7])
    expect(SWEEPS['LP-FT-swav']).toEqual([0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6])
    expect(SWEEPS['DAFT-step1']).toEqual([0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6])
    expect(SWEEPS['DAFT-step2']).toEqual([10, 3, 0.3, 0.1])
    expect(logGrid13(3, 1)).toEqual([3, 1])
    expect(logspace(-4, 4, 9).map((c) => Math.round(Math.log10(c)))).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4])
  })

})
