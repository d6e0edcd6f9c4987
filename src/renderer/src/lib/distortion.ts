/**
 * Shapes the Distortion and Galleries views draw from the analysis API (`analysis.get`, `analysis.gallery`,
 * `analysis.robustness`). Pure functions (no Vue, no DOM), unit-tested.
 */
import type { ChangeKind, Gallery, GalleryItem, HistogramData, RelativeChangeRow, RobustnessReport, ValueSummary } from '../../../shared/types'

/** Fig. 2's five panels, in the paper's order; BN statistics are drawn on a log axis. */
export const CHANGE_KINDS: readonly { kind: ChangeKind; label: string; log: boolean }[] = [
  { kind: 'conv', label: 'Conv weights', log: false },
  { kind: 'gamma', label: 'BN γ (weight)', log: false },
  { kind: 'beta', label: 'BN β (bias)', log: false },
  { kind: 'running_mean', label: 'BN running mean', log: true },
  { kind: 'running_var', label: 'BN running variance', log: true },
]

const BN_KINDS: readonly ChangeKind[] = ['gamma', 'beta', 'running_mean', 'running_var']

/** Layers (module names) holding BN parameters or statistics, in architecture order. */
export function bnLayers(rows: readonly RelativeChangeRow[]): string[] {
  return [...new Set(rows.filter((r) => BN_KINDS.includes(r.kind)).map((r) => r.layer))]
}

/**
 * One bar chart's data for one kind: the union of the runs' layers (architecture order of first appearance)
 * and, per run, its value at each layer (null where the run has no such layer or no value).
 */
export function relChangeSeries(
  runs: readonly { name: string; rows: readonly RelativeChangeRow[] }[],
  kind: ChangeKind,
): { layers: { name: string; stage: string }[]; series: { name: string; values: (number | null)[] }[] } {
  const layers: { name: string; stage: string }[] = []
  const seen = new Set<string>()
  for (const r of runs) {
    for (const row of r.rows) {
      if (row.kind !== kind || seen.has(row.layer)) continue
      seen.add(row.layer)
      layers.push({ name: row.layer, stage: row.stage })
    }
  }
  const series = runs.map((r) => {
    const byLayer = new Map(r.rows.filter((row) => row.kind === kind).map((row) => [row.layer, row.value]))
    return { name: r.name, values: layers.map((l) => byLayer.get(l.name) ?? null) }
  })
  return { layers, series }
}

/** Histogram counts as (bin centre, fraction of images) points, for overlaying runs whose bins differ. */
export function histogramPoints(h: HistogramData): [number, number][] {
  const total = h.counts.reduce((a, b) => a + b, 0)
  return h.counts.map((c, i) => [(h.edges[i] + h.edges[i + 1]) / 2, total > 0 ? c / total : 0])
}

/** Drops the empty bins at both ends (keeping one as a baseline), so a narrow distribution is not a spike in [-1, 1]. */
export function trimEmptyBins(points: readonly [number, number][]): [number, number][] {
  const first = points.findIndex((p) => p[1] > 0)
  if (first < 0) return points.slice()
  let last = points.length - 1
  while (last > first && !(points[last][1] > 0)) last--
  return points.slice(Math.max(0, first - 1), Math.min(points.length, last + 2))
}

/** Legend entry of one run's similarity distribution: "DAFT #12 (μ 0.981, σ 0.012)". */
export function summaryLabel(name: string, s: Pick<ValueSummary, 'mean' | 'std'>, digits = 3): string {
  return `${name} (μ ${s.mean.toFixed(digits)}, σ ${s.std.toFixed(digits)})`
}

/** Display name of a run in analysis charts: its method (or label) and id. */
export function runLabel(r: { id: number; method: string; seed?: number }): string {
  return `${r.method} #${r.id}${r.seed !== undefined ? ` (seed ${r.seed})` : ''}`
}

/** A gallery tile as the grid and the lightbox draw it. */
export interface GalleryTileView {
  path: string
  className: string
  cosine: number
  l2: number
  /** predicted class names before and after fine-tuning */
  before: string
  after: string
  /** whether the predictions were right */
  beforeOk: boolean
  afterOk: boolean
}

export function tileOf(item: GalleryItem, classes: readonly string[]): GalleryTileView {
  const name = (i: number): string => classes[i] ?? `class ${i}`
  return {
    path: item.path,
    className: item.className,
    cosine: item.cosine,
    l2: item.l2,
    before: name(item.predBefore),
    after: name(item.predAfter),
    beforeOk: item.predBefore === item.label,
    afterOk: item.predAfter === item.label,
  }
}

/** One row per class that has images: its lowest- or highest-similarity tiles. */
export function galleryRows(g: Gallery, which: 'lowest' | 'highest'): { className: string; tiles: GalleryTileView[] }[] {
  return g.perClass.filter((c) => c[which].length > 0).map((c) => ({ className: c.className, tiles: c[which].map((it) => tileOf(it, g.classes)) }))
}

/**
 * Robustness reports of several runs as one table: a row per corruption (the union, first report's order),
 * a CE per run (null where missing), then the mean.
 */
export function robustnessTable(reports: readonly { name: string; report: RobustnessReport }[]): { rows: { corruption: string; ce: (number | null)[] }[]; mCE: number[]; clean: number[] } {
  const names: string[] = []
  for (const r of reports) for (const c of r.report.corruptions) if (!names.includes(c.name)) names.push(c.name)
  return {
    rows: names.map((n) => ({ corruption: n, ce: reports.map((r) => r.report.corruptions.find((c) => c.name === n)?.ce ?? null) })),
    mCE: reports.map((r) => r.report.mCE),
    clean: reports.map((r) => r.report.cleanError),
  }
}
