/**
 * The experiment file and spec schemas (src/shared/schemas/experiment.ts) behind resolveExperiment: every problem
 * comes back with the field's path as written in the file, in list and mapping form, shape problems first and the
 * recipes' rules between fields after; the normalisation presets are listed once.
 */
import { describe, expect, it } from 'vitest'
import { resolveExperiment } from '../../../src/shared/experiments'
import { NORMALIZE_PRESET_NAMES, NORMALIZE_PRESETS } from '../../../src/shared/datasets'
import { NormalizePresetSchema } from '../../../src/shared/schemas/experiment'

const base = { model: 'm.th', data: { id: 'd' } }

describe('experiment file', () => {
  it('names the file field of each problem, list form', () => {
    const r = resolveExperiment({ ...base, methods: ['LP', { method: 'FT', lr: -1 }, 'XX'], seeds: [0, -1] })
    expect(r.spec).toBeUndefined()
    expect(r.errors).toEqual([
      'methods[1].lr: must be a number in [0, 100] (got -1)',
      "methods[2]: unknown method 'XX' (known: LP, FT, LP-FT, DAFT, custom)",
      'seeds[1]: a non-negative integer (got -1)',
    ])
    expect(r.issues.map((i) => i.path)).toEqual(['methods[1].lr', 'methods[2]', 'seeds[1]'])
  })

  it('points the recipe rules between fields back to the entry, list and mapping form', () => {
    expect(resolveExperiment({ ...base, methods: ['LP', { method: 'DAFT', lr: { backbone: 0 } }] }).errors).toEqual([
      'methods[1].lr.backbone: must be > 0 when the backbone is trained',
    ])
    expect(resolveExperiment({ ...base, methods: { FT: { lr: 0.01, epochs: 0 }, DAFT: { headInit: 'random' } } }).errors).toEqual([
      'methods.FT.epochs: must be at least 1 when the backbone is trained',
      "methods.DAFT.headInit: DAFT uses 'zero' (got 'random'); set method to 'custom' for this combination",
    ])
  })

  it('refuses unknown keys (a typo is not silently ignored) and bad transforms', () => {
    expect(resolveExperiment({ ...base, methods: ['FT'], epoch: 3, defaults: { momentun: 0.9 } }).errors).toEqual(['defaults.momentun: unknown field', 'epoch: unknown field'])
    expect(resolveExperiment({ ...base, data: { id: 'd', augment: [{ op: 'flip' }, { op: 'colorJitter', hue: 0.7 }] }, methods: ['FT'] }).errors).toEqual([
      'data.augment[0].op: unknown transform (ops: resize, centerCrop, randomCrop, randomResizedCrop, horizontalFlip, colorJitter)',
      'data.augment[1].hue: hue must be in [0, 0.5] (got 0.7)',
    ])
  })

  it('says what is missing', () => {
    expect(resolveExperiment({ name: 'x', methods: ['XX'] }).errors).toEqual([
      'model: required (path to a checkpoint)',
      'data: required: { id: folder of the in-distribution images, ood, size, normalize, ... }',
      "methods[0]: unknown method 'XX' (known: LP, FT, LP-FT, DAFT, custom)",
    ])
    expect(resolveExperiment({ model: 'm', data: {}, methods: [] }).errors).toEqual(['data.id: required (folder of the in-distribution images)', 'methods: list at least one of LP, FT, LP-FT, DAFT'])
    expect(resolveExperiment('model: m').errors).toEqual(["experiment file: must be a mapping (got 'model: m')"])
  })

  it('fills defaults and shorthands into a spec the spec schema accepts', () => {
    const r = resolveExperiment({ ...base, arch: 'resnet20', data: { id: 'd', ood: { o: 'o' }, normalize: 'clip' }, epochs: 3, methods: { FT: { lr: 0.03 }, DAFT: { lr: 0.01 } }, seeds: 2 }, (p) => `/abs/${p}`)
    expect(r.errors).toEqual([])
    expect(r.spec!.model).toEqual({ path: '/abs/m.th', arch: 'resnet20' })
    expect(r.spec!.data).toMatchObject({ id: { root: '/abs/d' }, ood: { o: { root: '/abs/o' } }, normalize: 'clip', size: 32, valFraction: 0.1, splitSeed: 0 })
    expect(r.spec!.methods.map((m) => [m.method, m.epochs, m.lr])).toEqual([['FT', 3, { backbone: 0.03, head: 0.03 }], ['DAFT', 3, { backbone: 0.01, head: 0.1 }]])
    expect(r.spec!.seeds).toEqual([2])
  })
})

describe('normalisation presets', () => {
  it('are listed once: the schema enum and the preset table take the same names', () => {
    expect(NormalizePresetSchema.options).toEqual([...NORMALIZE_PRESET_NAMES])
    expect(Object.keys(NORMALIZE_PRESETS)).toEqual([...NORMALIZE_PRESET_NAMES])
    expect(resolveExperiment({ ...base, data: { id: 'd', normalize: 'custom' }, methods: ['FT'] }).errors).toEqual([
      "data.normalize: must be one of imagenet, minus1to1, clip, unit (got 'custom')",
    ])
  })
})
