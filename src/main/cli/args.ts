/** Small helpers shared by the `daft` sub-commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util'

export type Options = NonNullable<ParseArgsConfig['options']>

/** A command line the command cannot take: reported on one line with the command's usage (exit status 1). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

export function parse<O extends Options>(args: string[], options: O, usage: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true })
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals }
  } catch (e) {
    throw new UsageError((e as Error).message, usage)
  }
}

/** `--help` or `-h` among the arguments (before a `--` that ends the options). */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--') return false
    if (a === '--help' || a === '-h') return true
  }
  return false
}

export function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name]
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required`, usage)
  return v
}

/** The RUN positional of `daft resume|cancel|analyze|robustness|export RUN`. */
export function runIdArg(positionals: string[], usage: string): number {
  const runId = Number(positionals[0])
  if (!positionals[0] || !Number.isInteger(runId)) throw new UsageError('a run id is required', usage)
  return runId
}

export function intOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = values[name]
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer (got ${String(v)})`)
  return n
}

/** A fraction from 0 up to, not including, 1. */
export function fractionOption(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  const n = Number(v)
  if (typeof v !== 'string' || v.trim() === '' || !(n >= 0 && n < 1)) throw new Error(`--${name} must be a number from 0 up to, not including, 1 (got ${String(v)})`)
  return n
}

/** An error message on one line: `a:\n  b\n  c` becomes `a: b; c`. */
export function oneLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean)
  return lines.reduce((acc, l) => (acc === '' ? l : `${acc}${acc.endsWith(':') ? ' ' : '; '}${l}`), '')
}

/** Entries a folder walk or an import left out, one per line: reason, split, path and why. */
export function skippedLines(skipped: readonly { path: string; reason: string; detail: string; split?: string }[], indent = '  '): string[] {
  if (!skipped.length) return ['skipped: none']
  const w = Math.max(...skipped.map((s) => s.reason.length))
  return [`skipped ${skipped.length} ${skipped.length === 1 ? 'entry' : 'entries'}:`, ...skipped.map((s) => `${indent}${s.reason.padEnd(w)}  ${s.split ? `${s.split}: ` : ''}${s.path}: ${s.detail}`)]
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? '  -  ' : `${(100 * x).toFixed(2)}%`
}

/** A one-line progress bar on stderr (only on a terminal, never with --json). */
export function progressBar(enabled: boolean): (label: string, done: number, total: number) => void {
  const tty = enabled && process.stderr.isTTY
  return (label, done, total) => {
    if (!tty) return
    const w = 30
    const f = total > 0 ? Math.min(1, done / total) : 0
    process.stderr.write(`\r${label} [${'#'.repeat(Math.round(f * w)).padEnd(w, '.')}] ${done}/${total}   `)
    if (done >= total) process.stderr.write('\n')
  }
}

export function out(json: boolean, obj: unknown, text: () => string): void {
  if (json) console.log(JSON.stringify(obj))
  else console.log(text())
}

/**
 * A command's --help text: its usage line(s), what it does, its options (flag, meaning) aligned, then any notes.
 * `--json` and `--help` are added to every command's options.
 */
export function helpText(usage: string | string[], summary: string, options: [string, string][], notes: string[] = []): string {
  const all: [string, string][] = [...options, ['--json', 'print one JSON object instead of text'], ['-h, --help', 'print this help and exit']]
  const w = Math.max(...all.map(([f]) => f.length))
  const lines = (Array.isArray(usage) ? usage : [usage]).map((u, i) => `${i === 0 ? 'usage: ' : '       '}daft ${u}`)
  return [...lines, '', summary, '', 'options:', ...all.map(([f, t]) => `  ${f.padEnd(w)}  ${t}`), ...(notes.length ? ['', ...notes] : [])].join('\n')
}
