/**
 * Table 2-style aggregation: per method, mean and sample std over seeds of each eval set's accuracy at
 * the best epoch; the best method per column marked. A set with one value has a mean and no std (n = 1:
 * there is no spread to report, and "± 0.00" would claim one). The one CSV writer (CLI and UI). Pure.
 */
import type { RunSummary } from './experiments'
import type { ComparisonTable } from './types'

export function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length
}

/**
 * Sample standard deviation (n - 1); 0 for a single value. The mean is taken relative to the first value, so that
 * equal values (LP's seeds, which share their features) give exactly 0, not the 1e-16 of (x + x + x) / 3 != x.
 */
export function std(xs: number[]): number {
  if (xs.length < 2) return 0
  const m = xs[0] + mean(xs.map((x) => x - xs[0]))
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1))
}

/** Only succeeded runs count; sweep runs are left out when final runs exist. */
export function compareRuns(experimentId: number, experiment: string, runs: RunSummary[]): ComparisonTable {
  const done = runs.filter((r) => r.status === 'succeeded' && r.final)
  const reported = done.some((r) => r.role === 'final') ? done.filter((r) => r.role !== 'sweep') : done
  const byMethod = new Map<string, RunSummary[]>()
  for (const r of reported) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r])
  const setNames = new Set<string>()
  for (const r of reported) for (const k of Object.keys(r.final!)) setNames.add(k)
  const order = (s: string): number => (s === 'id-val' ? 0 : s === 'id-test' ? 1 : 2)
  const sets = [...setNames].sort((a, b) => order(a) - order(b) || a.localeCompare(b))
  const methodOrder = ['LP', 'FT', 'LP-FT', 'DAFT']
  const rows = [...byMethod.entries()]
    .sort(([a], [b]) => (methodOrder.indexOf(a) + 99) % 99 - (methodOrder.indexOf(b) + 99) % 99 || a.localeCompare(b))
    .map(([method, rs]) => {
      const m: Record<string, number> = {}
      const s: Record<string, number> = {}
      for (const set of sets) {
        const xs = rs.map((r) => r.final![set]).filter((x): x is number => typeof x === 'number')
        if (xs.length) m[set] = mean(xs)
        if (xs.length > 1) s[set] = std(xs)
      }
      const warnings = rs.reduce((n, r) => n + (r.health?.warnings.length ?? 0), 0)
      const keptStart = rs.filter((r) => r.bestEpoch !== null && r.bestEpoch < 0).length
      return { method, runs: rs.length, seeds: rs.map((r) => r.seed), mean: m, std: s, lr: rs[0].lr, warnings, keptStart }
    })
  const best: Record<string, string> = {}
  for (const set of sets) {
    let top: { method: string; v: number } | null = null
    for (const r of rows) if (r.mean[set] !== undefined && (!top || r.mean[set] > top.v)) top = { method: r.method, v: r.mean[set] }
    if (top) best[set] = top.method
  }
  // warnings of the reported runs, and why runs failed (a diverged sweep point lost its selection)
  const noted = [...reported, ...runs.filter((r) => r.status === 'failed')]
  const health: ComparisonTable['health'] = noted.flatMap((r) =>
    (r.health?.warnings ?? []).map((warning) => ({ runId: r.id, method: r.method, seed: r.seed, role: r.role, lr: r.lr, warning })),
  )
  return { experimentId, experiment, sets, rows, best, health }
}

/**
 * A mean and its spread for display, accuracy in %: "91.23" and "± 0.40", or "n = 1" where there is no std (one
 * value); mean "-" where the set has no value at all.
 */
export function accuracyCell(m: number | undefined, s: number | undefined, digits = 2): { mean: string; spread: string } {
  if (m === undefined || !Number.isFinite(m)) return { mean: '-', spread: '' }
  return { mean: (100 * m).toFixed(digits), spread: s === undefined || !Number.isFinite(s) ? 'n = 1' : `± ${(100 * s).toFixed(digits)}` }
}

/**
 * The comparison as CSV, the one writer behind `daft compare --csv` and Compare's "Export CSV": one row per method
 * with columns method, n (runs reported), seeds (space-separated), lr_backbone, lr_head, then per set
 * `<set>_mean` and `<set>_std`, accuracy in % (up to 4 decimals). A std is empty where there is none (n = 1),
 * as is a set the method has no value for. RFC 4180 quoting, "\n" line ends.
 */
export function comparisonCsv(t: ComparisonTable): string {
  const head = ['method', 'n', 'seeds', 'lr_backbone', 'lr_head', ...t.sets.flatMap((s) => [`${s}_mean`, `${s}_std`])]
  const lines = t.rows.map((r) => [r.method, String(r.runs), r.seeds.join(' '), num(r.lr.backbone), num(r.lr.head), ...t.sets.flatMap((s) => [pct(r.mean[s]), pct(r.std[s])])])
  return [head, ...lines].map((l) => l.map(csvField).join(',')).join('\n') + '\n'
}

function pct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '' : String(Number((100 * x).toFixed(4)))
}

function num(x: number): string {
  return Number.isFinite(x) ? String(x) : ''
}

/** One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
