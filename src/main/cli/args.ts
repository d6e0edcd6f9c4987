/** Small helpers shared by the `daft` sub-commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util'

export type Options = NonNullable<ParseArgsConfig['options']>

export function parse<O extends Options>(args: string[], options: O, usage: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true })
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals }
  } catch (e) {
    throw new Error(`${(e as Error).message}\nusage: daft ${usage}`, { cause: e })
  }
}

export function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name]
  if (typeof v !== 'string' || !v) throw new Error(`--${name} is required\nusage: daft ${usage}`)
  return v
}

/** The RUN positional of `daft resume|cancel|analyze|robustness|export RUN`. */
export function runIdArg(positionals: string[], usage: string): number {
  const runId = Number(positionals[0])
  if (!positionals[0] || !Number.isInteger(runId)) throw new Error(`a run id is required\nusage: daft ${usage}`)
  return runId
}

export function intOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = values[name]
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer (got ${String(v)})`)
  return n
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
