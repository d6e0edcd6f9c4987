import type { ComparisonTable } from '../../../shared/types'

/** One CSV field, quoted when it holds a comma, quote or newline (RFC 4180). */
export function csvField(v: string | number): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/**
 * A comparison table as CSV: one row per method, for every set its mean and std accuracy in percent
 * (4 decimals), plus a `best` column per set marking the best method.
 */
export function comparisonToCsv(t: ComparisonTable): string {
  const head = ['method', 'runs', 'seeds', 'lr_backbone', 'lr_head']
  for (const s of t.sets) head.push(`${s} mean (%)`, `${s} std (%)`, `${s} best`)
  const lines = [head.map(csvField).join(',')]
  const pct = (x: number | undefined): string | number => (x === undefined || !Number.isFinite(x) ? '' : Number((x * 100).toFixed(4)))
  for (const r of t.rows) {
    const row: (string | number)[] = [r.method, r.runs, r.seeds.join(' '), r.lr.backbone, r.lr.head]
    for (const s of t.sets) row.push(pct(r.mean[s]), pct(r.std[s]), t.best[s] === r.method ? 'yes' : '')
    lines.push(row.map(csvField).join(','))
  }
  return lines.join('\r\n') + '\r\n'
}

/** A file name from an experiment name: "DAFT vs FT (cifar)" -> "daft-vs-ft-cifar.csv". */
export function csvFileName(experiment: string): string {
  const base = experiment.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return `${base || 'comparison'}.csv`
}
