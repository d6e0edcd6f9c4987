/**
 * Validation issues as the user reads them: one `path: message` per problem, where `path` is the field in the
 * request or file (`methods[1].lr.backbone`, `data.size`). The HTTP 400 body, the IPC error, the CLI's message and
 * the forms' per-field errors are all built from these, so a field is named the same way everywhere.
 *
 * Why zod (4): the TypeScript types are inferred from the schemas (z.infer / z.input), so a type and its check
 * cannot drift; every issue carries the path of its field (forms map it to the input, the CLI prints it); it has no
 * dependencies and no engine requirement beyond Node 20, runs unchanged in the browser, and is widely maintained.
 * Its own z.prettifyError prints a path per issue too; the one-line `path: message` form here reads better in a
 * 400 body and after a file name.
 */
import { z } from 'zod'

export interface FieldIssue {
  /** dotted field path with [i] for list items; '' for the value itself */
  path: string
  message: string
}

/** `['methods', 1, 'lr']` -> `methods[1].lr` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k)
  return out
}

/** A value for a message (short, never the whole of a long string). */
export function shown(v: unknown): string {
  const s = v === undefined ? 'nothing' : typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v))
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** An error option that appends the offending value: `{ error: got('a positive number') }` -> "a positive number (got -1)". */
export function got(message: string): { error: (iss: { input?: unknown }) => string } {
  return { error: (iss) => `${message} (got ${shown(iss.input)})` }
}

type RawIssue = z.core.$ZodIssue

/** A union branch that failed on the value's own type (not on something inside it) is not the one meant. */
const failsAtRoot = (branch: readonly RawIssue[]): boolean =>
  branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value' || i.code === 'invalid_union'))

function collect(issues: readonly RawIssue[], base: PropertyKey[], out: FieldIssue[]): void {
  for (const iss of issues) {
    const path = [...base, ...iss.path]
    if (iss.code === 'invalid_union' && iss.errors.length) {
      // a union (a name or an object, a list or a mapping) names the fields of the one shape the value has
      const fitting = iss.errors.filter((b) => !failsAtRoot(b))
      if (fitting.length === 1) {
        collect(fitting[0], path, out)
        continue
      }
    }
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) out.push({ path: formatPath([...path, k]), message: 'unknown field' })
      continue
    }
    out.push({ path: formatPath(path), message: iss.message })
  }
}

/** The issues of a failed parse, one per field problem. */
export function fieldIssues(error: { issues: readonly RawIssue[] }): FieldIssue[] {
  const out: FieldIssue[] = []
  collect(error.issues, [], out)
  return out
}

/** `path: message` lines; `root` names the value itself (an issue with an empty path). */
export function issueLines(issues: readonly FieldIssue[], root = 'request'): string[] {
  return issues.map((i) => `${i.path || root}: ${i.message}`)
}

/** The messages of one field (`lr.backbone`) and, with `nested`, of the fields under it. */
export function messagesAt(issues: readonly FieldIssue[], path: string, nested = false): string[] {
  return issues.filter((i) => i.path === path || (nested && (i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`)))).map((i) => i.message)
}

/** safeParse as field issues: the parsed value, or every problem. */
export function check<S extends z.ZodType>(schema: S, value: unknown): { ok: true; value: z.output<S> } | { ok: false; issues: FieldIssue[] } {
  const r = schema.safeParse(value)
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: fieldIssues(r.error) }
}

// ---------------------------------------------------------------- building blocks with messages that say what is wanted

/** A finite number that passes `ok`; the message says what is wanted and shows what came. */
export function num(wanted: string, ok: (v: number) => boolean = () => true): z.ZodType<number> {
  return z.number(got(wanted)).refine(ok, got(wanted))
}

export const intIn = (lo: number, hi: number, wanted = `an integer in [${lo}, ${hi}]`): z.ZodType<number> =>
  num(wanted, (v) => Number.isInteger(v) && v >= lo && v <= hi)

/** A store id (integer). */
export const idField = num('expected an integer id', Number.isInteger)
export const positiveInt = num('a positive integer', (v) => Number.isInteger(v) && v >= 1)
export const nonNegativeInt = num('a non-negative integer', (v) => Number.isInteger(v) && v >= 0)
/** Text with something in it (paths, names). */
export const text = (wanted: string): z.ZodType<string> => z.string(got(wanted)).refine((s) => s.trim().length > 0, got(wanted))
