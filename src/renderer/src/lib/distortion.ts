/**
 * Shapes the Distortion and Galleries views draw from the analysis API (`analysis.get`, `analysis.gallery`,
 * `analysis.robustness`). Pure functions (no Vue, no DOM), unit-tested.
 */
import type { ChangeKind, Gallery, GalleryItem, HistogramData, RelativeChangeRow, RobustnessReport, ValueSummary } from '../../../shared/types'
import { reportShiftedSet } from '../../../shared/report'

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

/** The runs the analysis views need to order and pair (a RunSummary has these and more). */
export interface AnalysisRunInfo {
  id: number
  method: string
  baseMethod: string
  seed: number
  role: 'single' | 'sweep' | 'final'
  status: string
  final: Record<string, number> | null
}

/**
 * Order of the methods in the analysis views: the fine-tuning methods whose distortion the paper compares,
 * FT, LP-FT, DAFT (Figs. 1-2), then custom recipes (ablations), and LP last: its backbone is frozen, so its
 * features never move (cosine 1, relative change 0) and it only serves as the undistorted reference.
 */
export function methodRank(r: Pick<AnalysisRunInfo, 'method' | 'baseMethod'>): number {
  const m = r.baseMethod === 'custom' ? r.method : r.baseMethod
  const i = ['FT', 'LP-FT', 'DAFT'].indexOf(m)
  if (i >= 0) return i
  return m === 'LP' ? 4 : 3
}

/** Succeeded runs in the analysis views' order: reported runs before sweep runs, then by method rank, seed and id. */
export function orderForAnalysis<T extends AnalysisRunInfo>(runs: readonly T[]): T[] {
  return runs
    .filter((r) => r.status === 'succeeded')
    .sort((a, b) => Number(a.role === 'sweep') - Number(b.role === 'sweep') || methodRank(a) - methodRank(b) || a.seed - b.seed || a.id - b.id)
}

/**
 * How many runs Distortion ticks by default (one per method, in orderForAnalysis order): every method but LP,
 * at most `max`; LP only when nothing else finished.
 */
export function defaultDistortionCount(runs: readonly AnalysisRunInfo[], max = 4): number {
  const methods = new Set(orderForAnalysis(runs).map((r) => r.method))
  const lp = orderForAnalysis(runs).filter((r) => r.baseMethod === 'LP').map((r) => r.method)
  const others = [...methods].filter((m) => !lp.includes(m)).length
  return Math.max(1, Math.min(max, others || methods.size))
}

/**
 * The two runs Galleries opens on (the paper's Figs. 6-9: FT's most and least distorted images beside DAFT's):
 * the first run in analysis order (FT when there is one), beside a DAFT run of the same seed (else the first
 * DAFT run); when the first is DAFT or there is no DAFT, the next method in order. LP comes last because its
 * gallery is flat (every similarity 1.000).
 */
export function galleryPair(runs: readonly AnalysisRunInfo[]): [number | null, number | null] {
  const ordered = orderForAnalysis(runs)
  const a = ordered[0]
  if (!a) return [null, null]
  const others = ordered.filter((r) => r.method !== a.method)
  const daft = a.baseMethod === 'DAFT' ? [] : others.filter((r) => r.baseMethod === 'DAFT')
  const b = daft.find((r) => r.seed === a.seed && r.role === a.role) ?? daft[0] ?? others.find((r) => r.seed === a.seed && r.role === a.role) ?? others[0]
  return [a.id, b?.id ?? null]
}

/**
 * The most shifted OOD set among `sets` (the analysis sets: 'id-test' / 'id-val' and the OOD names): where LP, the
 * pretrained features with a fitted head, is least accurate; else the largest domain-shift score; else the first
 * OOD set. One rule for the Galleries view and the shareable report: src/shared/report.ts.
 */
export const mostShiftedSet = reportShiftedSet

/**
 * The runs Distortion ticks when it opens: one per method in analysis order (FT, LP-FT, DAFT, custom recipes),
 * LP left out unless it is all there is; at most `max`.
 */
export function defaultDistortionSelection(runs: readonly AnalysisRunInfo[], max = 4): number[] {
  const pick: AnalysisRunInfo[] = []
  for (const r of orderForAnalysis(runs)) if (!pick.some((p) => p.method === r.method)) pick.push(r)
  return pick.slice(0, defaultDistortionCount(runs, max)).map((r) => r.id)
}
