/**
 * The shareable experiment report (`daft report`, `experiments.report`, Compare's "Download report"): ONE
 * self-contained HTML file that opens offline. Inline CSS, SVG charts built here as strings (no script, no chart
 * library), gallery thumbnails as data: URLs, and a Content-Security-Policy that forbids every fetch anyway.
 * Pure string building (no Node, no DOM): the service (main/services/report.ts) gathers the data, this file
 * writes it. Every string from the store (names, paths, messages) goes through `escapeHtml`.
 * Over 400 lines on purpose: one self-contained document (sections, SVG charts, styles) reads best as one file.
 */
import { accuracyCell } from './compare'
import type { ExperimentSpec, RunSummary } from './experiments'
import { epochLabel } from './health'
import type { Recipe } from './recipes'
import type { ChangeKind, ComparisonTable, Gallery, HistogramData, RunAnalysis } from './types'

/** Text for HTML element content and (double- or single-quoted) attribute values. */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!)
}

/** A number for an SVG attribute (finite, short). */
function n(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '0'
}

/** A value for display: 3 significant digits, exponent form for tiny / huge ones. */
export function fmtValue(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–'
  if (x === 0) return '0'
  const a = Math.abs(x)
  return a < 1e-3 || a >= 1e4 ? x.toExponential(2) : String(Number(x.toPrecision(3)))
}

export const METHOD_COLORS: Record<string, string> = { LP: '#7f7f7f', FT: '#d62728', 'LP-FT': '#1f77b4', DAFT: '#2ca02c' }
const EXTRA_COLORS = ['#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf', '#ff7f0e']

/** The colour of a method (the app's four, then a palette in order of first appearance). */
export function methodColor(method: string, all: readonly string[] = []): string {
  if (METHOD_COLORS[method]) return METHOD_COLORS[method]
  const others = all.filter((m) => !METHOD_COLORS[m])
  return EXTRA_COLORS[Math.max(0, others.indexOf(method)) % EXTRA_COLORS.length]
}

export interface HistogramSvgOptions {
  title: string
  histogram: HistogramData
  color?: string
  width?: number
  height?: number
  /** x axis caption */
  xLabel?: string
  /** fixed x range (default: the histogram's edges) */
  xRange?: [number, number]
}

/** One histogram as an inline SVG: one `<rect class="bar">` per bin, axes with min / max ticks, a title. */
export function histogramSvg(o: HistogramSvgOptions): string {
  const W = o.width ?? 260
  const H = o.height ?? 150
  const m = { l: 34, r: 8, t: 20, b: 30 }
  const pw = W - m.l - m.r
  const ph = H - m.t - m.b
  const { edges, counts } = o.histogram
  const lo = o.xRange?.[0] ?? edges[0] ?? 0
  const hi = o.xRange?.[1] ?? edges[edges.length - 1] ?? 1
  const span = hi - lo || 1
  const top = Math.max(1, ...counts)
  const x = (v: number): number => m.l + ((v - lo) / span) * pw
  const bars = counts
    .map((c, i) => {
      const x0 = x(edges[i])
      const x1 = x(edges[i + 1])
      const h = (c / top) * ph
      return `<rect class="bar" x="${n(x0)}" y="${n(m.t + ph - h)}" width="${n(Math.max(0.5, x1 - x0 - 0.5))}" height="${n(h)}" fill="${escapeHtml(o.color ?? '#1f77b4')}"><title>${escapeHtml(`${fmtValue(edges[i])} – ${fmtValue(edges[i + 1])}: ${c}`)}</title></rect>`
    })
    .join('')
  const axes =
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#555"/>` +
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#555"/>` +
    `<text x="${m.l}" y="${H - m.b + 12}" font-size="9" text-anchor="middle">${escapeHtml(fmtValue(lo))}</text>` +
    `<text x="${m.l + pw}" y="${H - m.b + 12}" font-size="9" text-anchor="middle">${escapeHtml(fmtValue(hi))}</text>` +
    `<text x="${m.l - 3}" y="${m.t + 4}" font-size="9" text-anchor="end">${top}</text>` +
    `<text x="${m.l - 3}" y="${m.t + ph}" font-size="9" text-anchor="end">0</text>` +
    (o.xLabel ? `<text x="${m.l + pw / 2}" y="${H - 4}" font-size="9" text-anchor="middle">${escapeHtml(o.xLabel)}</text>` : '')
  return (
    `<svg class="chart histogram" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(o.title)}">` +
    `<text x="${W / 2}" y="13" font-size="11" text-anchor="middle" font-weight="bold">${escapeHtml(o.title)}</text>${axes}${bars}</svg>`
  )
}

export interface BarPanel {
  title: string
  /** bar labels (layers) and values; null = not applicable (no bar) */
  bars: { label: string; value: number | null }[]
  /** shared top of the y axis (default: the panel's own maximum) */
  max?: number
}

/** Bar charts side by side in one SVG (Fig. 2: one panel per parameter kind, one bar per layer). */
export function barPanelsSvg(o: { title: string; panels: BarPanel[]; color?: string; panelWidth?: number; height?: number }): string {
  const PW = o.panelWidth ?? 190
  const H = o.height ?? 170
  const m = { l: 40, r: 8, t: 34, b: 22 }
  const W = PW * o.panels.length
  const ph = H - m.t - m.b
  const parts: string[] = [`<text x="6" y="13" font-size="12" font-weight="bold">${escapeHtml(o.title)}</text>`]
  o.panels.forEach((p, pi) => {
    const x0 = pi * PW + m.l
    const pw = PW - m.l - m.r
    const vals = p.bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v))
    const top = p.max !== undefined && p.max > 0 ? p.max : Math.max(0, ...vals) || 1
    const bw = p.bars.length ? pw / p.bars.length : pw
    parts.push(`<text x="${n(x0 + pw / 2)}" y="28" font-size="10" text-anchor="middle">${escapeHtml(p.title)}</text>`)
    parts.push(`<line x1="${n(x0)}" y1="${m.t + ph}" x2="${n(x0 + pw)}" y2="${m.t + ph}" stroke="#555"/><line x1="${n(x0)}" y1="${m.t}" x2="${n(x0)}" y2="${m.t + ph}" stroke="#555"/>`)
    parts.push(`<text x="${n(x0 - 3)}" y="${m.t + 4}" font-size="9" text-anchor="end">${escapeHtml(fmtValue(top))}</text><text x="${n(x0 - 3)}" y="${m.t + ph}" font-size="9" text-anchor="end">0</text>`)
    p.bars.forEach((b, i) => {
      if (b.value === null || !Number.isFinite(b.value)) return
      const h = Math.min(1, Math.max(0, b.value / top)) * ph
      parts.push(
        `<rect class="bar" x="${n(x0 + i * bw + bw * 0.1)}" y="${n(m.t + ph - h)}" width="${n(Math.max(0.5, bw * 0.8))}" height="${n(h)}" fill="${escapeHtml(o.color ?? '#1f77b4')}"><title>${escapeHtml(`${b.label}: ${fmtValue(b.value)}`)}</title></rect>`,
      )
    })
    parts.push(`<text x="${n(x0 + pw / 2)}" y="${H - 6}" font-size="9" text-anchor="middle">${p.bars.length} layers, input → output</text>`)
  })
  return `<svg class="chart bars" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(o.title)}">${parts.join('')}</svg>`
}

// ------------------------------------------------------------------------------------------ choices

/** Succeeded runs in the analysis views' order: reported before sweep runs, then LP, FT, LP-FT, DAFT, others; seed; id. */
function ordered(runs: readonly RunSummary[]): RunSummary[] {
  const rank = (m: string): number => {
    const i = ['FT', 'LP-FT', 'DAFT'].indexOf(m)
    return i >= 0 ? i : m === 'LP' ? 99 : 50
  }
  return runs
    .filter((r) => r.status === 'succeeded')
    .sort((a, b) => Number(a.role === 'sweep') - Number(b.role === 'sweep') || rank(a.baseMethod) - rank(b.baseMethod) || a.seed - b.seed || a.id - b.id)
}

/**
 * The most shifted OOD set (the report and the Galleries view both use this one rule): where LP, the pretrained features with a fitted head,
 * is least accurate; without LP on every OOD set, the largest domain-shift score; else the first OOD set.
 */
export function reportShiftedSet(
  sets: readonly string[],
  runs: readonly { status: string; baseMethod: string; final: Record<string, number> | null }[],
  shift: readonly { set: string; score: number }[] = [],
): { set: string; why: string } | null {
  const ood = sets.filter((s) => !s.startsWith('id-'))
  if (!ood.length) return null
  const lp = runs.filter((r) => r.status === 'succeeded' && r.baseMethod === 'LP' && r.final)
  const lpAcc = (s: string): number | null => {
    const v = lp.map((r) => r.final![s]).filter((x): x is number => typeof x === 'number')
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null
  }
  const scored = ood.map((s) => ({ s, acc: lpAcc(s) })).filter((x): x is { s: string; acc: number } => x.acc !== null)
  if (ood.length > 1 && scored.length === ood.length) {
    const w = scored.reduce((a, b) => (b.acc < a.acc ? b : a))
    return { set: w.s, why: `the OOD set where LP (the pretrained features) is least accurate: ${(100 * w.acc).toFixed(1)} %` }
  }
  const shifted = ood.map((s) => ({ s, score: shift.find((x) => x.set === s)?.score })).filter((x): x is { s: string; score: number } => typeof x.score === 'number')
  if (ood.length > 1 && shifted.length === ood.length) {
    const w = shifted.reduce((a, b) => (b.score > a.score ? b : a))
    return { set: w.s, why: `the OOD set with the largest domain shift from the pretrained statistics (score ${w.score.toFixed(2)})` }
  }
  return { set: ood[0], why: ood.length > 1 ? 'the first OOD set' : 'the OOD set' }
}

/**
 * The runs whose galleries the report shows, among runs with an analysis: FT beside the DAFT run of the same seed
 * when both exist, else the first two fine-tuning methods (one run each), else whatever finished (LP last).
 */
export function reportGalleryRuns(runs: readonly RunSummary[], analysed: ReadonlySet<number>): RunSummary[] {
  const ok = ordered(runs).filter((r) => analysed.has(r.id))
  const ft = ok.find((r) => r.baseMethod === 'FT')
  const daft = ok.filter((r) => r.baseMethod === 'DAFT')
  if (ft && daft.length) return [ft, daft.find((r) => r.seed === ft.seed && r.role === ft.role) ?? daft[0]]
  const pick: RunSummary[] = []
  for (const r of ok) if (pick.length < 2 && !pick.some((p) => p.method === r.method)) pick.push(r)
  return pick
}

// ------------------------------------------------------------------------------------------ the document

export interface ReportGalleryColumn {
  run: Pick<RunSummary, 'id' | 'method' | 'seed'>
  gallery: Gallery
}

export interface ReportData {
  generatedAt: string
  versions: { app: string; node: string }
  experiment: { id: number; name: string; spec: ExperimentSpec }
  table: ComparisonTable
  runs: RunSummary[]
  /** every run's recipe (run id -> recipe) */
  recipes: Record<number, Recipe>
  /** stored analyses of the experiment's runs */
  analyses: RunAnalysis[]
  gallery: { set: string; why: string; k: number; columns: ReportGalleryColumn[] } | null
  /** image path -> data: URL (PNG thumbnails); images without one are listed by name */
  thumbnails: Record<string, string>
}

const KINDS: { kind: ChangeKind; label: string }[] = [
  { kind: 'conv', label: 'conv weights' },
  { kind: 'gamma', label: 'BN γ' },
  { kind: 'beta', label: 'BN β' },
  { kind: 'running_mean', label: 'running mean' },
  { kind: 'running_var', label: 'running var' },
]

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2329;margin:0;background:#fff}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d8dde2;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.best{font-weight:bold}.muted{color:#667}.spread{color:#667;font-size:12px}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.grid{display:flex;flex-wrap:wrap;gap:10px}.chart{background:#fafbfc;border:1px solid #e3e6e9;max-width:100%;height:auto}
.err{color:#b00020}.warn{color:#8a5a00}
.gal{display:flex;gap:24px;flex-wrap:wrap}.gal section{flex:1 1 auto}
.thumbs{display:flex;gap:3px;flex-wrap:nowrap}.thumbs figure{margin:0;text-align:center;font-size:10px;color:#556}
.thumbs img{width:52px;height:52px;object-fit:contain;image-rendering:pixelated;display:block;border:1px solid #ccd}
.note{font-size:12px;color:#556}
@media print{main{max-width:none}}
`

/** The report as one HTML document (see the file comment). */
export function buildReportHtml(d: ReportData): string {
  const e = escapeHtml
  const methods = d.table.rows.map((r) => r.method)
  const runById = new Map(d.runs.map((r) => [r.id, r]))
  const body: string[] = []
  body.push(`<h1>${e(d.experiment.name)}</h1>`)
  body.push(`<p class="muted">Experiment #${d.experiment.id} · DAFT Workbench report generated ${e(d.generatedAt)} · ${d.runs.length} runs</p>`)

  // ---- table
  body.push('<h2 id="table">Accuracy (%)</h2>')
  if (!d.table.rows.length) body.push('<p>No run of this experiment has finished.</p>')
  else {
    body.push('<p class="note">Mean ± sample std over seeds at each run\'s best epoch (ID val); n = runs reported; bold = best per column.</p>')
    const head = `<tr><th>method</th><th>n</th><th>seeds</th><th>lr θ / w</th>${d.table.sets.map((s) => `<th>${e(s)}</th>`).join('')}</tr>`
    const rows = d.table.rows.map((r) => {
      const cells = d.table.sets.map((s) => {
        const c = accuracyCell(r.mean[s], r.std[s])
        return `<td class="num${d.table.best[s] === r.method ? ' best' : ''}">${e(c.mean)} <span class="spread">${e(c.spread)}</span></td>`
      })
      const lr = r.lr.backbone === r.lr.head ? fmtValue(r.lr.backbone) : `${fmtValue(r.lr.backbone)} / ${fmtValue(r.lr.head)}`
      const flags = [r.warnings ? `${r.warnings} health warning${r.warnings === 1 ? '' : 's'}` : '', r.keptStart ? `${r.keptStart} kept ${epochLabel(-1)}` : ''].filter(Boolean).join('; ')
      return `<tr><td>${e(r.method)}${flags ? ` <span class="warn">(${e(flags)})</span>` : ''}</td><td class="num">${r.runs}</td><td>${e(r.seeds.join(', '))}</td><td class="num">${e(lr)}</td>${cells.join('')}</tr>`
    })
    body.push(`<table class="comparison">${head}${rows.join('')}</table>`)
  }
  if (d.table.health.length) {
    body.push('<h3>Health notes</h3><table class="health"><tr><th>run</th><th>method</th><th>seed</th><th>role</th><th>warning</th><th>likely cause</th><th>try</th></tr>')
    for (const h of d.table.health) {
      body.push(
        `<tr class="${h.warning.severity === 'error' ? 'err' : 'warn'}"><td>#${h.runId}</td><td>${e(h.method)}</td><td>${h.seed}</td><td>${e(h.role)}${h.role === 'sweep' ? ` (lr ${e(fmtValue(h.lr.backbone))} / ${e(fmtValue(h.lr.head))})` : ''}</td><td><b>${e(h.warning.severity)} (${e(h.warning.code)})</b> ${e(h.warning.message)}</td><td>${e(h.warning.cause)}</td><td>${e(h.warning.knob)}</td></tr>`,
      )
    }
    body.push('</table>')
  } else body.push('<p class="note">Health: no warnings.</p>')

  // ---- Fig. 1
  const reported = new Set(reportedRunIds(d.runs))
  const analyses = d.analyses.filter((a) => reported.has(a.runId))
  const analysisMethods = orderMethods([...new Set(analyses.map((a) => runById.get(a.runId)?.method ?? a.method))], methods)
  body.push('<h2 id="fig1">Fig. 1: feature similarity to the pretrained model</h2>')
  if (!analyses.length) body.push('<p>No analysed run.</p>')
  else {
    body.push('<p class="note">Per method and eval set: histogram of the cosine similarity of each image\'s penultimate features after fine-tuning to the pretrained model\'s (1 = unchanged), pooled over the method\'s reported runs.</p>')
    for (const method of analysisMethods) {
      const mine = analyses.filter((a) => (runById.get(a.runId)?.method ?? a.method) === method)
      const sets = [...new Set(mine.flatMap((a) => a.sets.map((s) => s.set)))]
      const charts = sets.map((set) => {
        const parts = mine.map((a) => a.sets.find((s) => s.set === set)).filter((s) => s !== undefined)
        const h = pooled(parts.map((p) => p.cosine.histogram))
        const meanCos = parts.reduce((acc, p) => acc + p.cosine.mean * p.n, 0) / Math.max(1, parts.reduce((acc, p) => acc + p.n, 0))
        return histogramSvg({ title: `${method} · ${set} (mean ${meanCos.toFixed(3)}, ${parts.length} run${parts.length === 1 ? '' : 's'})`, histogram: h, color: methodColor(method, methods), xLabel: 'cosine similarity', width: 280 })
      })
      body.push(`<h3>${e(method)}</h3><div class="grid fig1" data-method="${e(method)}">${charts.join('')}</div>`)
    }
  }

  // ---- Fig. 2
  body.push('<h2 id="fig2">Fig. 2: per-layer relative change</h2>')
  if (!analyses.length) body.push('<p>No analysed run.</p>')
  else {
    body.push('<p class="note">‖W_after − W_before‖ / ‖W_before‖ per layer, architecture order, mean over the method\'s reported runs. "From the start": the weights when fine-tuning began (after BN conversion for DAFT, the LP head for LP-FT); "from the pretrained checkpoint": the checkpoint. One y scale per kind across methods.</p>')
    for (const which of ['start', 'pretrained'] as const) {
      body.push(`<h3>${which === 'start' ? 'From the start of fine-tuning' : 'From the pretrained checkpoint'}</h3><div class="grid fig2">`)
      const perMethod = analysisMethods.map((method) => ({ method, rows: meanChange(analyses.filter((a) => (runById.get(a.runId)?.method ?? a.method) === method).map((a) => a.relativeChange[which])) }))
      const max = Object.fromEntries(KINDS.map(({ kind }) => [kind, Math.max(0, ...perMethod.flatMap((p) => p.rows.filter((r) => r.kind === kind && r.value !== null).map((r) => r.value!)))]))
      for (const { method, rows } of perMethod) {
        const panels = KINDS.map(({ kind, label }) => ({ title: label, bars: rows.filter((r) => r.kind === kind).map((r) => ({ label: r.name, value: r.value })), max: max[kind] || undefined }))
        body.push(barPanelsSvg({ title: method, panels, color: methodColor(method, methods) }))
      }
      body.push('</div>')
    }
  }

  // ---- galleries
  body.push('<h2 id="galleries">Galleries</h2>')
  const g = d.gallery
  if (!g || !g.columns.length) body.push('<p>No analysed run with an OOD set.</p>')
  else {
    body.push(`<p class="note">Set <b>${e(g.set)}</b>: ${e(g.why)}. Per class, the ${g.k} images whose features changed most (lowest cosine) and least (highest), with their cosine similarity.</p><div class="gal">`)
    for (const c of g.columns) {
      body.push(`<section><h3>${e(c.run.method)} (run #${c.run.id}, seed ${c.run.seed})</h3><table><tr><th>class</th><th>lowest cosine</th><th>highest cosine</th></tr>`)
      for (const pc of c.gallery.perClass) {
        const thumbs = (items: Gallery['perClass'][number]['lowest']): string =>
          `<div class="thumbs">${items
            .map((it) => {
              const url = d.thumbnails[it.path]
              const cap = `${it.cosine.toFixed(3)}`
              const name = it.path.split(/[\\/]/).pop() ?? it.path
              return url && /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+$/.test(url)
                ? `<figure><img src="${e(url)}" alt="${e(name)}" title="${e(`${name}: cosine ${cap}`)}"/>${e(cap)}</figure>`
                : `<figure title="${e(it.path)}">${e(name)}<br/>${e(cap)}</figure>`
            })
            .join('')}</div>`
        body.push(`<tr><td>${e(pc.className)}</td><td>${thumbs(pc.lowest)}</td><td>${thumbs(pc.highest)}</td></tr>`)
      }
      body.push('</table></section>')
    }
    body.push('</div>')
  }

  // ---- recipes
  body.push('<h2 id="recipes">Recipes</h2>')
  body.push(recipesHtml(d))

  // ---- versions
  body.push('<h2 id="versions">Versions</h2>')
  const backends = new Map<string, number[]>()
  for (const r of d.runs) backends.set(r.backend ?? 'not recorded', [...(backends.get(r.backend ?? 'not recorded') ?? []), r.id])
  body.push('<table class="versions">')
  body.push(`<tr><th>DAFT Workbench</th><td>${e(d.versions.app)}</td></tr><tr><th>Node</th><td>${e(d.versions.node)}</td></tr>`)
  for (const [b, ids] of backends) body.push(`<tr><th>tensor backend: ${e(b)}</th><td>runs ${e(ids.map((i) => `#${i}`).join(', '))}</td></tr>`)
  body.push('</table>')

  const csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(`DAFT report: ${d.experiment.name}`)}</title>`,
    `<style>${CSS}</style></head>`,
    `<body><main>${body.join('\n')}</main></body></html>`,
    '',
  ].join('\n')
}

/** The runs the comparison reports (finals, else singles, else sweep runs), as compareRuns counts them. */
function reportedRunIds(runs: readonly RunSummary[]): number[] {
  const done = runs.filter((r) => r.status === 'succeeded')
  const reported = done.some((r) => r.role === 'final') ? done.filter((r) => r.role !== 'sweep') : done
  return reported.map((r) => r.id)
}

function orderMethods(ms: string[], tableOrder: string[]): string[] {
  const rank = (m: string): number => (tableOrder.includes(m) ? tableOrder.indexOf(m) : 999)
  return ms.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

/** Histograms summed bin by bin when their edges agree; else the first one. */
function pooled(hs: HistogramData[]): HistogramData {
  if (!hs.length) return { edges: [0, 1], counts: [0] }
  const [first] = hs
  const same = hs.every((h) => h.edges.length === first.edges.length && h.edges.every((x, i) => Math.abs(x - first.edges[i]) < 1e-9))
  if (!same) return first
  return { edges: first.edges, counts: first.counts.map((_, i) => hs.reduce((s, h) => s + (h.counts[i] ?? 0), 0)) }
}

/** Per row name (architecture order of the first list), the mean of the non-null values over runs. */
function meanChange(lists: RunAnalysis['relativeChange']['start'][]): RunAnalysis['relativeChange']['start'] {
  if (!lists.length) return []
  return lists[0].map((row) => {
    const vs = lists.map((l) => l.find((r) => r.name === row.name)?.value).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    return { ...row, value: vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null }
  })
}

function fieldValue(v: unknown): string {
  if (v === undefined) return '–'
  if (typeof v === 'number') return fmtValue(v)
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return `[${v.map(fieldValue).join(', ')}]`
  if (v && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${fieldValue(x)}`).join(', ')} }`
  return String(v)
}

function recipesHtml(d: ReportData): string {
  const e = escapeHtml
  const s = d.experiment.spec
  const out: string[] = []
  const data = s.data
  const rows: [string, string][] = [
    ['model', `${s.model.path}${s.model.arch ? ` (${s.model.arch})` : ''}`],
    ['ID data', `${data.id.root}${data.id.limits ? ` limits ${JSON.stringify(data.id.limits)}` : ''}`],
    ...Object.entries(data.ood).map(([name, r]): [string, string] => [`OOD ${name}`, `${r.root}${r.limit ? ` (limit ${r.limit})` : ''}`]),
    ['input', `${data.size} px, normalize ${data.normalize}`],
    ['augmentation', data.augment.length ? data.augment.map((a) => JSON.stringify(a)).join(', ') : 'none'],
    ['ID val', `fraction ${data.valFraction} of train when there is no val folder, split seed ${data.splitSeed ?? 'per run (older store)'}`],
    ['classes', data.classes?.join(', ') ?? 'sorted ID folder names'],
    ['seeds', s.seeds.join(', ')],
  ]
  out.push(`<h3>Experiment</h3><table class="spec">${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td class="mono">${e(v)}</td></tr>`).join('')}</table>`)
  if (s.sweep) {
    const sw = s.sweep
    const srows: [string, string][] = [
      ...Object.entries(sw.lr).map(([m, g]): [string, string] => [`lr grid ${m}`, (g ?? []).map(fmtValue).join(', ')]),
      ['DAFT step 1 eta_w', fmtValue(sw.daftStep1HeadLr ?? 1)],
      ['DAFT step 2 eta_w grid', (sw.daftHeadLr ?? []).map(fmtValue).join(', ') || '–'],
      ['eta_w grid mode', sw.daftHeadLrMode ?? 'paper'],
      ['sweep seed', String(sw.sweepSeed)],
    ]
    out.push(`<h3>Sweep</h3><table class="sweep">${srows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>`)
    if (sw.headProbe) {
      const { result: p, grid } = sw.headProbe
      out.push(
        `<h3>Head-rate probe</h3><p class="note">${e(`A zero head trained alone on the frozen features of ${p.images} ID training images (feature dim ${p.featureDim}, mean squared norm ${fmtValue(p.meanSqFeatureNorm)}), ${p.steps} steps, batch ${p.batchSize}; start loss ln ${p.numClasses} = ${p.startLoss.toFixed(3)}.`)}</p>` +
          `<table class="probe"><tr><th>eta_w</th><th>final loss</th><th>max loss</th><th>verdict</th></tr>${p.points.map((pt) => `<tr><td class="num">${e(fmtValue(pt.lr))}</td><td class="num">${e(fmtValue(pt.finalLoss))}</td><td class="num">${e(fmtValue(pt.maxLoss))}</td><td>${pt.blowup ? '<span class="err">blows up</span>' : 'stable'}</td></tr>`).join('')}</table>` +
          `<p class="note">${e(grid.note)}</p>`,
      )
    }
  }
  // every run's recipe: runs sharing one recipe are listed together
  const groups = new Map<string, { recipe: Recipe; runs: RunSummary[] }>()
  for (const r of d.runs) {
    const recipe = d.recipes[r.id]
    if (!recipe) continue
    const key = JSON.stringify(recipe)
    const g = groups.get(key) ?? { recipe, runs: [] }
    g.runs.push(r)
    groups.set(key, g)
  }
  const fields = [...new Set([...groups.values()].flatMap((g) => Object.keys(g.recipe)))]
  if (groups.size) {
    // one column per distinct recipe, one row per field
    const cols = [...groups.values()]
    out.push('<h3>Run recipes</h3><div style="overflow-x:auto"><table class="recipes"><tr><th>field</th>')
    out.push(cols.map((g) => `<th>${e(g.runs.map((r) => `#${r.id} ${r.method}, ${r.role}, seed ${r.seed}`).join('; '))}</th>`).join('') + '</tr>')
    for (const f of fields) {
      const vals = cols.map((g) => fieldValue((g.recipe as unknown as Record<string, unknown>)[f]))
      out.push(`<tr><th>${e(f)}</th>${vals.map((v) => `<td class="mono">${e(v)}</td>`).join('')}</tr>`)
    }
    out.push('</table></div>')
  }
  out.push(
    '<h3>Runs</h3><table class="runs"><tr><th>run</th><th>method</th><th>role</th><th>seed</th><th>status</th><th>lr θ / w</th><th>best epoch</th><th>backend</th><th>finished</th></tr>' +
      d.runs
        .map(
          (r) =>
            `<tr><td>#${r.id}</td><td>${e(r.method)}</td><td>${e(r.role)}</td><td>${r.seed}</td><td>${e(r.status)}${r.error ? ` <span class="err">${e(r.error)}</span>` : ''}</td><td class="num">${e(`${fmtValue(r.lr.backbone)} / ${fmtValue(r.lr.head)}`)}</td><td>${r.bestEpoch === null ? '–' : e(epochLabel(r.bestEpoch))}</td><td>${e(r.backend ?? '–')}</td><td>${e(r.finishedAt ?? '–')}</td></tr>`,
        )
        .join('') +
      '</table>',
  )
  return out.join('\n')
}

/** The suggested file name: daft-report-<experiment name as a slug>-<id>.html */
export function reportFileName(id: number, name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60)
  return `daft-report-${slug ? `${slug}-` : ''}${id}.html`
}
