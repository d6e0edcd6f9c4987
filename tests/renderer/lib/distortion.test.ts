import { describe, expect, it } from 'vitest'
import type { Gallery, RelativeChangeRow, RobustnessReport } from '../../../src/shared/types'
import { bnLayers, galleryRows, histogramPoints, relChangeSeries, robustnessTable, summaryLabel, tileOf, trimEmptyBins } from '../../../src/renderer/src/lib/distortion'

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
