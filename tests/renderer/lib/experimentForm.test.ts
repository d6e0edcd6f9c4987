import { describe, expect, it } from 'vitest'
import { defaultRecipe } from '../../../src/shared/recipes'
import { resolveExperiment } from '../../../src/shared/experiments'
import type { DatasetSummary, ModelSummary } from '../../../src/shared/types'
import { buildExperimentSpec, imagesPerEpoch, parseSeeds, sweepErrors, type DataForm } from '../../../src/renderer/src/lib/experimentForm'
import { buildSweep, defaultSweepForm } from '../../../src/renderer/src/lib/sweepForm'

const ds = (id: number, name: string, counts: Record<string, number>): DatasetSummary => ({ id, projectId: 1, name, root: `/data/${name}`, classes: ['a', 'b'], counts, skipped: 0, createdAt: '' })
const datasets = [ds(1, 'cifar', { train: 900, test: 200 }), ds(2, 'cifar10.1', { test: 150 }), ds(3, 'stl', { train: 50, val: 20, test: 80 })]
const model = { id: 7, path: '/m/resnet20.th', arch: 'cifar_resnet20' } as ModelSummary
const form: DataForm = { idDatasetId: 1, oodIds: [2, 3], size: 32, normalize: 'imagenet', augment: '', valFraction: 0.1, trainLimit: null, evalLimit: null }

describe('New-experiment form', () => {
  it('counts train images after the val hold-out and eval images over ID val/test and OOD sets', () => {
    expect(imagesPerEpoch(datasets, form)).toEqual({ train: 810, eval: 90 + 200 + 150 + 80 })
    expect(imagesPerEpoch(datasets, { ...form, trainLimit: 100 }).train).toBe(100)
    expect(imagesPerEpoch(datasets, { ...form, idDatasetId: 3, oodIds: [] })).toEqual({ train: 50, eval: 100 })
    // an eval limit caps every evaluation set separately: val 90, test 100, OOD 100 + 80
    expect(imagesPerEpoch(datasets, { ...form, evalLimit: 100 }).eval).toBe(90 + 100 + 100 + 80)
  })
  it('parses seeds and rejects negatives, fractions and duplicates', () => {
    expect(parseSeeds('0, 1 2')).toEqual({ seeds: [0, 1, 2], errors: [] })
    expect(parseSeeds('0, -1, 1.5').errors).toHaveLength(2)
    expect(parseSeeds('1,1').errors).toEqual(['seeds: each seed once'])
    expect(parseSeeds(' ').errors).toEqual(['seeds: list at least one seed'])
  })
  it('builds a spec the shared experiment resolver accepts unchanged', () => {
    const methods = [defaultRecipe('FT'), defaultRecipe('DAFT')]
    const r = buildExperimentSpec({ name: ' demo ', model, datasets, data: form, augmentOps: [{ op: 'horizontalFlip' }], methods, seeds: [0, 1] })
    expect(r.errors).toEqual([])
    const spec = r.spec!
    expect(spec.name).toBe('demo')
    expect(spec.model).toEqual({ path: '/m/resnet20.th', arch: 'cifar_resnet20' })
    expect(spec.data.id).toEqual({ root: '/data/cifar' })
    expect(spec.data.ood).toEqual({ 'cifar10.1': { root: '/data/cifar10.1' }, stl: { root: '/data/stl' } })
    const again = resolveExperiment({ ...spec, model: spec.model, data: spec.data, methods: spec.methods.map((m) => ({ ...m })) })
    expect(again.errors).toEqual([])
    expect(again.spec!.methods).toEqual(methods)
  })
  it('puts train and eval limits on the ID sets and every OOD set', () => {
    const r = buildExperimentSpec({ name: 'x', model, datasets, data: { ...form, trainLimit: 500, evalLimit: 100 }, augmentOps: [], methods: [defaultRecipe('DAFT')], seeds: [0] })
    expect(r.errors).toEqual([])
    expect(r.spec!.data.id).toEqual({ root: '/data/cifar', limits: { train: 500, val: 100, test: 100 } })
    expect(r.spec!.data.ood.stl).toEqual({ root: '/data/stl', limit: 100 })
    expect(resolveExperiment({ ...r.spec!, methods: r.spec!.methods.map((m) => ({ ...m })) }).errors).toEqual([])
  })
  it('asks for a label when two methods would share a name in Compare', () => {
    const base = { name: 'x', model, datasets, data: form, augmentOps: [], seeds: [0] }
    const twoDaft = [defaultRecipe('DAFT'), { ...defaultRecipe('DAFT'), headInit: 'random' as const, method: 'custom' as const }, { ...defaultRecipe('DAFT'), lr: { backbone: 1e-3, head: 1e-2 } }]
    expect(buildExperimentSpec({ ...base, methods: twoDaft }).errors).toEqual([`methods: two methods are both called 'DAFT'; give one a label so Compare can tell them apart`])
    const labelled = [twoDaft[0], { ...twoDaft[2], label: 'DAFT (high lr)' }]
    const r = buildExperimentSpec({ ...base, methods: labelled })
    expect(r.errors).toEqual([])
    expect(r.spec!.methods.map((m) => m.label)).toEqual([undefined, 'DAFT (high lr)'])
  })
  it('builds valid specs with the BN momentum and BN-conversion data fields', () => {
    const methods = [
      { ...defaultRecipe('DAFT'), bnMomentum: 'checkpoint' as const, bnConversionData: 'plain' as const },
      { ...defaultRecipe('FT'), bnMomentum: 0.01 },
    ]
    const r = buildExperimentSpec({ name: 'bn', model, datasets, data: form, augmentOps: [], methods, seeds: [0] })
    expect(r.errors).toEqual([])
    const again = resolveExperiment({ ...r.spec!, methods: r.spec!.methods.map((m) => ({ ...m })) })
    expect(again.errors).toEqual([])
    expect(again.spec!.methods.map((m) => [m.bnMomentum, m.bnConversionData])).toEqual([['checkpoint', 'plain'], [0.01, 'augmented']])
    // the defaults: PyTorch's 0.1 and the augmented pipeline
    expect([defaultRecipe('DAFT').bnMomentum, defaultRecipe('DAFT').bnConversionData]).toEqual([0.1, 'augmented'])
  })
  it("carries the sweep form's DAFT head rates into the spec as the resolver reads them", () => {
    const f = { ...defaultSweepForm(0), on: { FT: true, 'LP-FT': false, DAFT: true } }
    const { sweep } = buildSweep(f, ['FT', 'DAFT'], 0)
    const r = buildExperimentSpec({ name: 'sw', model, datasets, data: form, augmentOps: [], methods: [defaultRecipe('FT'), defaultRecipe('DAFT')], seeds: [0, 1], sweep })
    expect(r.errors).toEqual([])
    expect(r.spec!.sweep).toEqual({ lr: sweep!.lr, daftStep1HeadLr: 1, daftHeadLr: [10, 3, 0.3, 0.1], daftHeadLrMode: 'paper', sweepSeed: 0 })
    const again = resolveExperiment({ ...r.spec!, methods: r.spec!.methods.map((m) => ({ ...m })) })
    expect(again.errors).toEqual([])
    expect(again.spec!.sweep).toEqual(r.spec!.sweep)
  })
  it('refuses a sweep with rates out of range', () => {
    expect(sweepErrors(undefined)).toEqual([])
    expect(sweepErrors({ lr: { FT: [0.1] }, sweepSeed: 0 })).toEqual([])
    expect(sweepErrors({ lr: {}, sweepSeed: 0 })).toEqual(['sweep: sweep at least one method, or none'])
    expect(sweepErrors({ lr: { FT: [] }, daftStep1HeadLr: 0, daftHeadLr: [200], sweepSeed: 1.5 }).map((e) => e.split(':')[0])).toEqual(['sweep FT', 'sweep DAFT step 1', 'sweep DAFT step 2', 'sweep seed'])
    const r = buildExperimentSpec({ name: 'x', model, datasets, data: form, augmentOps: [], methods: [defaultRecipe('DAFT')], seeds: [0], sweep: { lr: { DAFT: [0.1] }, daftHeadLr: [0], sweepSeed: 0 } })
    expect(r.spec).toBeUndefined()
    expect(r.errors).toEqual(['sweep DAFT step 2: a learning rate in (0, 100] (got 0)'])
  })
  it('lists every form problem instead of building', () => {
    const r = buildExperimentSpec({ name: '', model: null, datasets, data: { ...form, idDatasetId: null, size: 4, valFraction: 1 }, augmentOps: [], methods: [], seeds: [], recipeProblems: 2 })
    expect(r.spec).toBeUndefined()
    expect(r.errors.map((e) => e.split(':')[0])).toEqual(['name', 'model', 'ID dataset', 'size', 'validation share', 'methods', 'seeds', 'methods'])
  })
})
