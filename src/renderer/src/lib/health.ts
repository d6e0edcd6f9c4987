/**
 * Run health and epoch labels for the Runs and Compare views. Pure functions (no Vue, no DOM), unit-tested.
 * Epoch -1 is the start of fine-tuning (its evaluation before the first trained epoch); trained epoch e
 * is shown as e + 1, so the start sits at 0 on every axis and in every table.
 */
import { healthLines } from '../../../shared/health'
import type { HealthSeverity, RunHealth } from '../../../shared/health'
import type { ComparisonHealthNote, ComparisonTable } from '../../../shared/types'
import { fmtNum } from './format'

/** x of an epoch in the per-epoch charts: the start (-1) at 0, trained epoch e at e + 1. */
export function epochX(epoch: number): number {
  return epoch < 0 ? 0 : epoch + 1
}

/** Epoch column of the epochs table: "0 (start)" for the start, e + 1 for trained epochs. */
export function epochCell(epoch: number): string {
  return epoch < 0 ? '0 (start)' : String(epoch + 1)
}

/** The worst severity of a run's warnings (null when it has none or no health yet). */
export function healthLevel(h: RunHealth | null | undefined): HealthSeverity | null {
  if (!h?.warnings.length) return null
  return h.warnings.some((w) => w.severity === 'error') ? 'error' : 'warning'
}

/** Tooltip of a run's health badge: one line per warning (message, likely cause, what to try). */
export function healthTitle(h: RunHealth | null | undefined): string {
  return healthLines(h).join('\n')
}

/** "run #12 · DAFT · seed 0 · sweep, lr θ / w 0.01 / 1": which run a comparison's health note is about. */
export function healthNoteWho(n: ComparisonHealthNote): string {
  const role = n.role === 'sweep' ? `sweep, lr θ / w ${fmtNum(n.lr.backbone)} / ${fmtNum(n.lr.head)}` : n.role
  return `run #${n.runId} · ${n.method} · seed ${n.seed} · ${role}`
}

/** The worst severity among a comparison's notes for one method (null when none). */
export function methodHealthLevel(table: Pick<ComparisonTable, 'health'>, method: string): HealthSeverity | null {
  const notes = table.health.filter((n) => n.method === method)
  if (!notes.length) return null
  return notes.some((n) => n.warning.severity === 'error') ? 'error' : 'warning'
}

/** Tooltip of a comparison row's "!" marker: its warning count and the method's notes, one line each. */
export function compareRowTitle(table: Pick<ComparisonTable, 'health'>, row: ComparisonTable['rows'][number]): string {
  const notes = table.health.filter((n) => n.method === row.method)
  const head = `${row.warnings} health warning${row.warnings === 1 ? '' : 's'} in the reported runs of ${row.method}`
  const lines = notes.map((n) => `run #${n.runId} (seed ${n.seed}, ${n.role}): ${n.warning.severity === 'error' ? 'ERROR' : 'warning'} ${n.warning.code}: ${n.warning.message}`)
  return [head + (lines.length ? ':' : ''), ...lines].join('\n')
}

/** "1 of 3 runs report their starting point: no trained epoch beat it on ID val" (null when none did). */
export function keptStartNote(row: Pick<ComparisonTable['rows'][number], 'keptStart' | 'runs'>): string | null {
  if (!(row.keptStart > 0)) return null
  const verb = row.keptStart === 1 ? 'reports its' : 'report their'
  return `${row.keptStart} of ${row.runs} run${row.runs === 1 ? '' : 's'} ${verb} starting point: no trained epoch beat it on ID val`
}
