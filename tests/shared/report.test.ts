/** The report's pure builders: escaping, SVG charts, the chosen gallery set and runs, a whole document offline. */
import { describe, expect, it } from 'vitest'
import { barPanelsSvg, buildReportHtml, escapeHtml, histogramSvg, reportFileName, reportGalleryRuns, reportShiftedSet, type ReportData } from '../../src/shared/report'
import type { RunSummary } from '../../src/shared/experiments'
import { defaultRecipe } from '../../src/shared/recipes'
import type { RunAnalysis } from '../../src/shared/types'

const EVIL = `<script>alert("x")</script>&'\``

function run(id: number, method: string, seed: number, extra: Partial<RunSummary> = {}): RunSummary {
  return {
    id, experimentId: 1, experiment: 'e', method, baseMethod: method, epochs: 1, imagesPerSec: 10, seed, role: 'single', status: 'succeeded',
    backend: 'wasm', bestEpoch: 0, final: { 'id-val': 0.9, 'id-test': 0.8, ood: 0.5 }, error: null, createdAt: '', startedAt: '', finishedAt: '2026-01-01',
    lr: { backbone: 0.01, head: 0.01 }, bnMomentum: 0.1, health: { ok: true, warnings: [] }, ...extra,
  }
}

function analysis(runId: number, method: string): RunAnalysis {
  const summary = { count: 10, mean: 0.9, std: 0.05, min: 0.8, max: 1, histogram: { edges: [0.8, 0.85, 0.9, 0.95, 1], counts: [1, 2, 3, 4] } }
  return {
    runId, method, classes: ['a', 'b'], computedAt: '', seconds: 1,
    sets: ['id-test', 'ood'].map((set) => ({ set, n: 10, cosine: summary, l2: summary, accuracyBefore: 0.5, accuracyAfter: 0.6 })),
    relativeChange: {
      start: [{ name: 'conv1.weight', layer: 'conv1', kind: 'conv', stage: 'stem', value: 0.1 }, { name: 'bn1.weight', layer: 'bn1', kind: 'gamma', stage: 'stem', value: 0.2 }, { name: 'bn1.running_var', layer: 'bn1', kind: 'running_var', stage: 'stem', value: null }],
      pretrained: [{ name: 'conv1.weight', layer: 'conv1', kind: 'conv', stage: 'stem', value: 0.3 }],
    },
    shift: [],
  }
}

describe('escapeHtml', () => {
  it('escapes the five HTML specials and backquotes, and stringifies anything', () => {
    expect(escapeHtml(EVIL)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;')
    expect(escapeHtml(null)).toBe('')
    expect(escapeHtml(3)).toBe('3')
  })
})

describe('charts', () => {
  it('a histogram has one bar per bin, heights proportional to the counts, an escaped title', () => {
    const svg = histogramSvg({ title: EVIL, histogram: { edges: [0, 0.25, 0.5, 0.75, 1], counts: [0, 5, 10, 5] } })
    expect(svg.startsWith('<svg')).toBe(true)
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]))
    expect(heights).toHaveLength(4)
    expect(heights[0]).toBe(0)
    expect(heights[2]).toBeGreaterThan(0)
    expect(heights[1]).toBeCloseTo(heights[2] / 2, 1)
    expect(heights[3]).toBe(heights[1])
    expect(svg).not.toContain('<script>')
    expect(svg).toContain('&lt;script&gt;')
  })

  it('bar panels: one bar per non-null value, one panel per kind', () => {
    const svg = barPanelsSvg({ title: 'FT', panels: [{ title: 'conv', bars: [{ label: 'a', value: 1 }, { label: 'b', value: 0.5 }] }, { title: 'gamma', bars: [{ label: 'c', value: null }] }] })
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(2)
    expect(svg).toContain('>conv<')
    expect(svg).toContain('>gamma<')
  })
})

describe('choices', () => {
  const runs = [run(1, 'LP', 0, { final: { 'id-val': 0.9, a: 0.7, b: 0.4 } }), run(2, 'FT', 0), run(3, 'FT', 1), run(4, 'LP-FT', 0), run(5, 'DAFT', 1), run(6, 'DAFT', 0)]
  it('the most shifted OOD set is where LP is least accurate, else the largest shift, else the first', () => {
    expect(reportShiftedSet(['id-test', 'a', 'b'], runs, [])?.set).toBe('b')
    expect(reportShiftedSet(['id-test', 'a', 'b'], runs.slice(1), [{ set: 'a', score: 0.5 }, { set: 'b', score: 0.1 }])?.set).toBe('a')
    expect(reportShiftedSet(['id-test', 'a', 'b'], runs.slice(1), [])?.set).toBe('a')
    expect(reportShiftedSet(['id-test'], runs, [])).toBeNull()
  })
  it('FT beside DAFT of the same seed, else the first two fine-tuning methods', () => {
    const all = new Set(runs.map((r) => r.id))
    expect(reportGalleryRuns(runs, all).map((r) => r.id)).toEqual([2, 6])
    expect(reportGalleryRuns(runs, new Set([1, 4, 5])).map((r) => r.id)).toEqual([4, 5])
    expect(reportGalleryRuns(runs, new Set([1, 3, 4])).map((r) => r.id)).toEqual([3, 4])
  })
  it('suggests a file name from the experiment', () => {
    expect(reportFileName(7, 'Demo: shapes, colour shift')).toBe('daft-report-demo-shapes-colour-shift-7.html')
  })
})

describe('buildReportHtml', () => {
  const runs = [run(1, 'FT', 0, { method: EVIL }), run(2, 'DAFT', 0)]
  const png = 'data:image/png;base64,iVBORw0KGgo='
  const data: ReportData = {
    generatedAt: '2026-01-01T00:00:00Z',
    versions: { app: '0.1.0', node: 'v20' },
    experiment: {
      id: 1,
      name: EVIL,
      spec: { name: EVIL, model: { path: '/m/<model>.pt' }, data: { id: { root: '/d/id' }, valFraction: 0.1, splitSeed: 0, ood: { ood: { root: '/d/ood' } }, size: 32, normalize: 'imagenet', augment: [] }, methods: [defaultRecipe('FT')], seeds: [0], sweep: { lr: { FT: [0.1, 0.01] }, sweepSeed: 0 } },
    },
    table: {
      experimentId: 1, experiment: EVIL, sets: ['id-test', 'ood'], best: { 'id-test': EVIL },
      rows: [{ method: EVIL, runs: 1, seeds: [0], mean: { 'id-test': 0.8 }, std: {}, lr: { backbone: 0.01, head: 0.01 }, warnings: 1, keptStart: 0 }],
      health: [{ runId: 1, method: EVIL, seed: 0, role: 'single', lr: { backbone: 1, head: 1 }, warning: { code: 'near-chance', severity: 'warning', message: EVIL, cause: 'c', knob: 'k' } }],
    },
    runs,
    recipes: { 1: defaultRecipe('FT'), 2: defaultRecipe('DAFT') },
    analyses: [analysis(1, 'FT'), analysis(2, 'DAFT')],
    gallery: {
      set: 'ood', why: 'because', k: 1,
      columns: [{ run: { id: 1, method: 'FT', seed: 0 }, gallery: { runId: 1, set: 'ood', classes: ['a'], perClass: [{ label: 0, className: EVIL, lowest: [{ path: '/d/ood/a/1.png', label: 0, className: 'a', cosine: 0.5, l2: 1, predBefore: 0, predAfter: 0 }], highest: [{ path: '/d/ood/a/2.png', label: 0, className: 'a', cosine: 0.9, l2: 1, predBefore: 0, predAfter: 0 }] }] } }],
    },
    thumbnails: { '/d/ood/a/1.png': png, '/d/ood/a/2.png': 'javascript:alert(1)' },
  }
  const html = buildReportHtml(data)

  it('escapes every string from the store', () => {
    expect(html).not.toContain('<script')
    expect(html).not.toContain('alert("x")')
    expect(html).toContain('&lt;script&gt;')
    expect(html).toContain('/m/&lt;model&gt;.pt')
  })
  it('has the table with n and the health note, both figures, the gallery and the recipes', () => {
    expect(html).toContain('class="comparison"')
    expect(html).toContain('n = 1')
    expect(html).toContain('near-chance')
    expect(html.match(/class="chart histogram"/g)).toHaveLength(4) // 2 methods x 2 sets
    expect(html.match(/class="chart bars"/g)).toHaveLength(4) // 2 methods x (start, pretrained)
    expect(html.match(/<img /g)).toHaveLength(1) // a thumbnail that is not a data: image is not embedded
    expect(html).toContain(`src="${png}"`)
    expect(html).toContain('lr grid FT')
    expect(html).toContain('bnConversion')
    expect(html).toContain('tensor backend: wasm')
  })
  it('requests nothing: no http(s) URL, no protocol-relative src/href, no script, a CSP that forbids fetching', () => {
    expect(html).not.toMatch(/https?:\/\//i)
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\/\//i)
    expect(html).not.toMatch(/<script|<link|<iframe|url\(/i)
    expect(html).toContain(`default-src 'none'; img-src data:`)
  })
})
