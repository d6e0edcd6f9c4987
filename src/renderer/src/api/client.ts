import type { ApiEvent, OpName, Req, Res } from '../../../shared/api'

/** The one client interface the renderer uses; IPC and HTTP implement it. Nothing else knows the transport. */
export interface ApiClient {
  readonly transport: 'ipc' | 'http'
  call<K extends OpName>(op: K, req: Req<K>): Promise<Res<K>>
  subscribe(cb: (ev: ApiEvent) => void): () => void
}

export class ApiCallError extends Error {
  constructor(public readonly code: string, message: string) {
    super(message)
    this.name = 'ApiCallError'
  }
}

/** Both transports answer { result } or { error: { code, message } }. */
export function unwrap<T>(body: unknown): T {
  const b = body as { result?: T; error?: { code: string; message: string } }
  if (b && b.error) throw new ApiCallError(b.error.code, b.error.message)
  return b.result as T
}
