/**
 * The service boundary: every request is parsed by its operation's schema (src/shared/schemas/requests.ts)
 * before the operation runs. Both transports (IPC in index.ts, HTTP in http/server.ts) and the command line
 * reach the operations only through `validated(...)`, so this is the one place requests are checked; the
 * operations receive typed, parsed requests and check only what needs the store.
 */
import { ApiError, API_OPERATIONS, type OpName, type ParsedReq, type Req, type Res } from '../../shared/api'
import { issueLines } from '../../shared/schemas/issues'
import { checkRequest } from '../../shared/schemas/requests'

/** What an operation implements: it receives the parsed request. */
export type Operations = { [K in OpName]: (req: ParsedReq<K>) => Promise<Res<K>> }
/** What callers see: the raw request, checked before the operation runs. */
export type Services = { [K in OpName]: (req: Req<K>) => Promise<Res<K>> }

/**
 * An operation's request parsed by its schema, or ApiError 'bad_request' naming every field that is wrong
 * (`perClass: an integer from 1 to 64 (got 65); split: ...`) with the same problems as `issues` for forms.
 */
export function parseRequest<K extends OpName>(op: K, raw: unknown): ParsedReq<K> {
  const r = checkRequest(op, raw)
  if (r.ok) return r.value as ParsedReq<K>
  throw new ApiError('bad_request', issueLines(r.issues).join('; '), r.issues)
}

/** The operations behind the boundary: each call parses its request first (a refusal is a rejected promise). */
export function validated(ops: Operations): Services {
  const out: Partial<Record<OpName, (req: unknown) => Promise<unknown>>> = {}
  for (const op of API_OPERATIONS) {
    const run = ops[op] as (req: unknown) => Promise<unknown>
    out[op] = async (raw: unknown) => run(parseRequest(op, raw))
  }
  return out as Services
}
