/** Display formatting shared by the views. Pure functions (no Vue, no DOM), unit-tested. */

/** The message of anything thrown (ApiCallError, Error, string). */
export function errMsg(e: unknown): string {
  if (e instanceof Error) return e.message
  if (typeof e === 'string') return e
  return String(e)
}

/** 11172042 -> "11.2M", 5400 -> "5.4k". */
export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '–'
  const a = Math.abs(n)
  if (a >= 1e9) return `${(n / 1e9).toFixed(a >= 1e10 ? 0 : 1)}G`
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`
  if (a >= 1e3) return `${(n / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`
  return String(n)
}

/** Accuracy in [0, 1] as a percentage with one decimal ("93.4"). */
export function fmtPct(acc: number | null | undefined, digits = 1): string {
  if (acc === null || acc === undefined || !Number.isFinite(acc)) return '–'
  return (acc * 100).toFixed(digits)
}

/** Seconds as "45 s", "12 min 05 s", "3 h 02 min". */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  const h = Math.floor(s / 3600)
  const m = Math.round((s % 3600) / 60)
  return m === 60 ? `${h + 1} h 00 min` : `${h} h ${String(m).padStart(2, '0')} min`
}

/** Learning rates and other small floats: 0.0001 -> "1e-4", 0.03 -> "0.03". */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  if (x === 0) return '0'
  const a = Math.abs(x)
  if (a < 1e-3 || a >= 1e5) {
    const [m, e] = x.toExponential().split('e')
    return `${Number(Number(m).toPrecision(3))}e${Number(e)}`
  }
  return String(Number(x.toPrecision(4)))
}

/** "1e-4, 3e-4" or "0.01, 0.1" -> numbers; returns the tokens that are not numbers as errors. */
export function parseNumberList(text: string): { values: number[]; errors: string[] } {
  const values: number[] = []
  const errors: string[] = []
  for (const tok of text.split(/[\s,;]+/).filter(Boolean)) {
    const v = Number(tok)
    if (Number.isFinite(v)) values.push(v)
    else errors.push(`'${tok}' is not a number`)
  }
  return { values, errors }
}

/** ISO timestamp -> local "YYYY-MM-DD HH:MM". */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}
