import { describe, expect, it } from 'vitest'
import type { Gallery, RelativeChangeRow, RobustnessReport } from '../../../src/shared/types'
import {
  bnLayers,
  defaultDistortionSelection,
  galleryPair,
  galleryRows,
  histogramPoints,
  methodRank,
  mostShiftedSet,
  orderForAnalysis,
  relChangeSeries,
  robustnessTable,
  summaryLabel,
  tileOf,
  trimEmptyBins,
  type AnalysisRunInfo,
} from '../../../src/renderer/src/lib/distortion'

/** The relative-change rows of a small CIFAR-ResNet-like net: stem conv1/bn1 and one block conv1/bn1/conv2/bn2. */
function rows(scale: number, extraBlock = false): RelativeChangeRow[] {
  const out: RelativeChangeRow[] = []
  const layers: [string, string, 'conv' | 'bn'][] = [['conv1', 'stem', 'conv'], ['bn1', 'stem', 'bn'], ['layer1.0.conv1', 'layer1', 'conv'], ['layer1.0.bn1', 'layer1', 'bn']]
  if (extraBlock) layers.push(['layer2.0.conv1', 'layer2', 'conv'], ['layer2.0.bn1', 'layer2', 'bn'])
  layers.forEach(([layer, stage, t], i) => {
    if (t === 'conv') out.push({ name: `${layer}.weight`, layer, kind: 'conv', stage, value: scale * (i + 1) })
    else for (const [k, p] of [['gamma', 'weight'], ['beta', 'bias'], ['running_mean', 'running_mean'], ['running_var', 'running_var']] as const) out.push({ name: `${layer}.${p}`, layer, kind: k, stage, value: k === 'beta' && i === 1 ? null : scale * (i + 1) })
  })
  return out
}

describe('relative-change charts', () => {
  it('counts BN layers once over their four quantities', () => {
    expect(bnLayers(rows(1))).toEqual(['bn1', 'layer1.0.bn1'])
    expect(bnLayers(rows(1, true))).toHaveLength(3)
  })
  it('aligns runs on the union of their layers in architecture order, null where a run lacks a value', () => {
    const { layers, series } = relChangeSeries([{ name: 'FT', rows: rows(1) }, { name: 'DAFT', rows: rows(0.1, true) }], 'gamma')
    expect(layers).toEqual([{ name: 'bn1', stage: 'stem' }, { name: 'layer1.0.bn1', stage: 'layer1' }, { name: 'layer2.0.bn1', stage: 'layer2' }])
    expect(series[0]).toEqual({ name: 'FT', values: [2, 4, null] })
    expect(series[1].values.map((v) => Number(v!.toFixed(6)))).toEqual([0.2, 0.4, 0.6])
    const beta = relChangeSeries([{ name: 'FT', rows: rows(1) }], 'beta')
    expect(beta.series[0].values).toEqual([null, 4])
    expect(relChangeSeries([{ name: 'FT', rows: rows(1) }], 'conv').layers.map((l) => l.name)).toEqual(['conv1', 'layer1.0.conv1'])
  })
})

describe('similarity histograms', () => {
  it('turns counts into fractions at bin centres', () => {
    expect(histogramPoints({ edges: [0, 0.5, 1], counts: [1, 3] })).toEqual([[0.25, 0.25], [0.75, 0.75]])
    expect(histogramPoints({ edges: [0, 1], counts: [0] })).toEqual([[0.5, 0]])
  })
  it('trims empty bins at both ends but keeps one as a baseline', () => {
    const pts: [number, number][] = [[-0.9, 0], [-0.5, 0], [0, 0], [0.5, 0.4], [0.6, 0], [0.7, 0.6], [0.8, 0], [0.9, 0]]
    expect(trimEmptyBins(pts)).toEqual([[0, 0], [0.5, 0.4], [0.6, 0], [0.7, 0.6], [0.8, 0]])
    expect(trimEmptyBins([[0, 1], [1, 0]])).toEqual([[0, 1], [1, 0]])
    expect(trimEmptyBins([[0, 0]])).toEqual([[0, 0]])
  })
  it('puts mean and std in the legend', () => {
    expect(summaryLabel('DAFT #3', { mean: 0.98123, std: 0.0123 })).toBe('DAFT #3 (μ 0.981, σ 0.012)')
  })
})

describe('galleries', () => {
  const item = (path: string, label: number, before: number, after: number) => ({ path, label, className: ['cat', 'dog'][label], cosine: 0.5, l2: 1, predBefore: before, predAfter: after })
  const g: Gallery = {
    runId: 1,
    set: 'ood',
    classes: ['cat', 'dog'],
    perClass: [
      { label: 0, className: 'cat', lowest: [item('/a.png', 0, 0, 1)], highest: [item('/b.png', 0, 0, 0)] },
      { label: 1, className: 'dog', lowest: [], highest: [] },
    ],
  }
  it('names predictions and marks which were right', () => {
    expect(tileOf(item('/a.png', 0, 0, 1), g.classes)).toMatchObject({ before: 'cat', after: 'dog', beforeOk: true, afterOk: false })
    expect(tileOf(item('/a.png', 0, 5, 0), g.classes).before).toBe('class 5')
  })
  it('keeps one row per class that has images', () => {
    expect(galleryRows(g, 'lowest').map((r) => [r.className, r.tiles.length])).toEqual([['cat', 1]])
  })
})

describe('robustness table', () => {
  const rep = (ce: number[], names = ['gaussian_noise', 'fog']): RobustnessReport => ({ runId: 1, images: 10, cleanError: 0.1, corruptions: names.map((name, i) => ({ name, errors: [ce[i]], ce: ce[i] })), mCE: ce.reduce((a, b) => a + b, 0) / ce.length, seconds: 1, note: '' })
  it('lines runs up per corruption with their mCE', () => {
    const t = robustnessTable([{ name: 'FT', report: rep([0.5, 0.3]) }, { name: 'DAFT', report: rep([0.4], ['fog']) }])
    expect(t.rows).toEqual([{ corruption: 'gaussian_noise', ce: [0.5, null] }, { corruption: 'fog', ce: [0.3, 0.4] }])
    expect(t.mCE).toEqual([0.4, 0.4])
  })
})

describe('which runs the analysis views open on', () => {
  // the demo's layout: planRuns queues method by method, seeds 0..2 each (LP first)
  let id = 0
  const run = (method: string, seed: number, over: Partial<AnalysisRunInfo> = {}): AnalysisRunInfo => ({
    id: ++id,
    method,
    baseMethod: method,
    seed,
    role: 'single',
    status: 'succeeded',
    final: null,
    ...over,
  })
  const demo = ['LP', 'FT', 'LP-FT', 'DAFT'].flatMap((m) => [0, 1, 2].map((s) => run(m, s, m === 'LP' ? { final: { 'id-test': 0.8, texture: 0.7 + 0.01 * s, stroke: 0.5 } } : {})))
  const byId = (ids: (number | null)[]): string[] => ids.map((i) => { const r = demo.find((x) => x.id === i); return r ? `${r.method}/${r.seed}` : String(i) })

  it('orders FT, LP-FT, DAFT, custom recipes, then LP; reported runs before sweep runs; only succeeded runs', () => {
    expect(['FT', 'LP-FT', 'DAFT', 'LP'].map((m) => methodRank({ method: m, baseMethod: m }))).toEqual([0, 1, 2, 4])
    expect(methodRank({ method: 'FT + BN conversion', baseMethod: 'custom' })).toBe(3)
    const runs = [run('LP', 0), run('DAFT', 0, { role: 'sweep' }), run('DAFT', 1), run('FT', 1), run('FT', 0), run('LP-FT', 0, { status: 'running' })]
    expect(orderForAnalysis(runs).map((r) => `${r.method}/${r.seed}${r.role === 'sweep' ? ' sweep' : ''}`)).toEqual(['FT/0', 'FT/1', 'DAFT/1', 'LP/0', 'DAFT/0 sweep'])
  })

  it('Distortion ticks one run per method in the order FT, LP-FT, DAFT and leaves LP out', () => {
    expect(byId(defaultDistortionSelection(demo))).toEqual(['FT/0', 'LP-FT/0', 'DAFT/0'])
    // while the runs come in: LP alone is shown rather than nothing, and gives way once a fine-tuned run is done
    const lpOnly = demo.filter((r) => r.method === 'LP')
    expect(byId(defaultDistortionSelection(lpOnly))).toEqual(['LP/0'])
    expect(byId(defaultDistortionSelection([...lpOnly, demo.find((r) => r.method === 'DAFT')!]))).toEqual(['DAFT/0'])
    expect(defaultDistortionSelection([])).toEqual([])
  })

  it('Galleries pairs FT with the DAFT run of the same seed (the paper\'s Figs. 6-9)', () => {
    expect(byId(galleryPair(demo))).toEqual(['FT/0', 'DAFT/0'])
    const noFt0 = demo.filter((r) => !(r.method === 'FT' && r.seed === 0))
    expect(byId(galleryPair(noFt0))).toEqual(['FT/1', 'DAFT/1'])
    // no DAFT: FT beside the next method in order (LP-FT), LP only as the last resort
    expect(byId(galleryPair(demo.filter((r) => r.method !== 'DAFT')))).toEqual(['FT/0', 'LP-FT/0'])
    expect(byId(galleryPair(demo.filter((r) => r.method === 'LP' || r.method === 'FT')))).toEqual(['FT/0', 'LP/0'])
    expect(byId(galleryPair(demo.filter((r) => r.method === 'DAFT')))).toEqual(['DAFT/0', 'null'])
    expect(galleryPair([])).toEqual([null, null])
  })

  it('opens on the OOD set where LP is least accurate, else the largest domain shift, else the first OOD set', () => {
    const sets = ['id-test', 'texture', 'stroke']
    expect(mostShiftedSet(sets, demo)).toEqual({ set: 'stroke', why: 'the OOD set where LP (the pretrained features) is least accurate: 50.0 %' })
    const noLp = demo.filter((r) => r.method !== 'LP')
    const shift = [{ set: 'id-test', score: 0.1 }, { set: 'texture', score: 0.9 }, { set: 'stroke', score: 0.4 }]
    expect(mostShiftedSet(sets, noLp, shift)?.set).toBe('texture')
    expect(mostShiftedSet(sets, noLp, shift)?.why).toMatch(/largest domain shift .* \(score 0\.90\)/)
    expect(mostShiftedSet(sets, noLp)).toEqual({ set: 'texture', why: 'the first OOD set' })
    expect(mostShiftedSet(['id-test', 'usps'], noLp)).toEqual({ set: 'usps', why: 'the OOD set' })
    expect(mostShiftedSet(['id-test'], demo)).toBeNull()
  })
})
