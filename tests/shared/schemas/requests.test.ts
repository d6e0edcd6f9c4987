/**
 * The request schemas (src/shared/schemas/requests.ts): one per operation, checked at the service boundary.
 * Each case below was accepted before the schemas (hand-written checks covered ids only) and is refused now,
 * with the field named.
 */
import { describe, expect, it } from 'vitest'
import { API_OPERATIONS } from '../../../src/shared/api'
import { defaultRecipe } from '../../../src/shared/recipes'
import type { ExperimentSpec } from '../../../src/shared/experiments'
import { checkRequest, REQUEST_SCHEMAS } from '../../../src/shared/schemas/requests'
import { formatPath, issueLines } from '../../../src/shared/schemas/issues'

const spec: ExperimentSpec = {
  name: 'x',
  model: { path: '/m.th' },
  data: { id: { root: '/d' }, valFraction: 0.1, splitSeed: 0, ood: {}, size: 32, normalize: 'imagenet', augment: [] },
  methods: [defaultRecipe('FT')],
  seeds: [0],
}

/** The `path: message` lines of a refused request (fails the test when it is accepted). */
function refused(op: keyof typeof REQUEST_SCHEMAS, req: unknown): string[] {
  const r = checkRequest(op, req)
  expect(r.ok, `${op} ${JSON.stringify(req)} should be refused`).toBe(false)
  return r.ok ? [] : issueLines(r.issues)
}

describe('request schemas', () => {
  it('has one schema per operation, and nothing else', () => {
    expect(Object.keys(REQUEST_SCHEMAS).sort()).toEqual([...API_OPERATIONS].sort())
  })

  it('accepts the requests the app sends, and drops keys no schema names', () => {
    expect(checkRequest('datasets.preview', { id: 3, split: 'train', perClass: 8 })).toEqual({ ok: true, value: { id: 3, split: 'train', perClass: 8 } })
    expect(checkRequest('runs.get', { runId: 1, afterStep: -1, extra: 'x' })).toEqual({ ok: true, value: { runId: 1, afterStep: -1 } })
    expect(checkRequest('app.status', {})).toEqual({ ok: true, value: {} })
    const created = checkRequest('experiments.create', { projectId: 1, spec })
    expect(created.ok && created.value.spec).toEqual(spec)
  })

  it('refuses split, perClass and afterStep of the wrong type or range', () => {
    expect(refused('datasets.preview', { id: 1, split: 5, perClass: 8 })).toEqual(['split: a split name (text) (got 5)'])
    expect(refused('datasets.preview', { id: 1, split: 'train', perClass: 65 })).toEqual(['perClass: an integer from 1 to 64 (got 65)'])
    expect(refused('datasets.preview', { id: 1, split: ['train'], perClass: '8' })).toEqual(["split: a split name (text) (got [\"train\"])", "perClass: an integer from 1 to 64 (got '8')"])
    expect(refused('runs.get', { runId: 1, afterStep: 'x' })).toEqual(["afterStep: an integer step, -1 or more (got 'x')"])
    expect(refused('runs.get', { runId: 1, afterStep: 2.5 })).toEqual(['afterStep: an integer step, -1 or more (got 2.5)'])
    expect(refused('analysis.gallery', { runId: 1, set: { $gt: '' } })).toEqual(['set: an eval set name (got {"$gt":""})'])
    expect(refused('runs.export', { runId: 1, format: 'tfjs', which: 'middle', out: '/x' })).toEqual(["which: 'final' or 'initial' (got 'middle')"])
    expect(refused('images.get', { path: '/a.png', size: '96' })).toEqual(["size: a thumbnail size in pixels (got '96')"])
  })

  it('refuses a spec with a normalisation that is not a preset, naming the path inside the request', () => {
    for (const normalize of ['custom', 'imagenet2', 3]) {
      const lines = refused('experiments.create', { projectId: 1, spec: { ...spec, data: { ...spec.data, normalize } } })
      expect(lines).toEqual([`spec.data.normalize: must be one of imagenet, minus1to1, clip, unit (got ${typeof normalize === 'string' ? `'${normalize}'` : normalize})`])
    }
  })

  it('checks the recipes of a spec, cross-field rules included', () => {
    const ft = { ...defaultRecipe('FT'), epochs: 0 }
    expect(refused('experiments.create', { projectId: 1, spec: { ...spec, methods: [ft] } })).toEqual(['spec.methods[0].epochs: must be at least 1 when the backbone is trained'])
    expect(refused('experiments.probeHeadLr', { spec: { ...spec, methods: [] }, lrs: [] })).toEqual(['spec.methods: list at least one of LP, FT, LP-FT, DAFT', 'lrs: a non-empty list of positive learning rates'])
  })

  it('refuses what is not a request object, and ids that are not integers', () => {
    expect(refused('app.status', null)).toEqual(['request: must be a JSON object (got null)'])
    expect(refused('runs.cancel', { runId: '7' })).toEqual(["runId: expected an integer id (got '7')"])
  })

  it('formats paths as written: dots for fields, brackets for list items', () => {
    expect(formatPath(['spec', 'methods', 1, 'lr', 'backbone'])).toBe('spec.methods[1].lr.backbone')
    expect(formatPath([])).toBe('')
  })
})
