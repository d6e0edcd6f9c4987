import type { ApiErrorBody, ApiEvent, OpName, Req, Res } from '../../../shared/api'
import type { FieldIssue } from '../../../shared/schemas/issues'

/** The one client interface the renderer uses; IPC and HTTP implement it. Nothing else knows the transport. */
export interface ApiClient {
  readonly transport: 'ipc' | 'http'
  call<K extends OpName>(op: K, req: Req<K>): Promise<Res<K>>
  subscribe(cb: (ev: ApiEvent) => void): () => void
}

export class ApiCallError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    /** a refused request's problems by field (code 'bad_request'), empty otherwise */
    public readonly issues: FieldIssue[] = [],
  ) {
    super(message)
    this.name = 'ApiCallError'
  }
}

/** Both transports answer { result } or { error: { code, message, issues? } }. */
export function unwrap<T>(body: unknown): T {
  const b = body as { result?: T } & Partial<ApiErrorBody>
  if (b && b.error) throw new ApiCallError(b.error.code, b.error.message, b.error.issues ?? [])
  return b.result as T
}
