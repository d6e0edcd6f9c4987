import type { ApiEvent, OpName, Req, Res } from '@shared/api'
import { ApiCallError, unwrap, type ApiClient } from './client'

/** Serve mode: POST /api/op/<name>, events over SSE. The HttpOnly cookie carries the token. */
export class HttpClient implements ApiClient {
  readonly transport = 'http' as const

  async call<K extends OpName>(op: K, req: Req<K>): Promise<Res<K>> {
    const r = await fetch(`/api/op/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req ?? {}),
      credentials: 'same-origin',
    })
    let body: unknown
    try {
      body = await r.json()
    } catch {
      throw new ApiCallError('http', `${op}: HTTP ${r.status}`)
    }
    return unwrap<Res<K>>(body)
  }

  subscribe(cb: (ev: ApiEvent) => void): () => void {
    const es = new EventSource('/api/events')
    es.onmessage = (m) => cb(JSON.parse(m.data) as ApiEvent)
    return () => es.close()
  }
}
