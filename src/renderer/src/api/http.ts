import type { ApiEvent, OpName, Req, Res } from '../../../shared/api'
import { ApiCallError, unwrap, type ApiClient } from './client'

const TOKEN_KEY = 'daft-workbench.token'
const NO_TOKEN = 'no access token: open the URL that `npm run serve` printed (it ends with ?token=...)'

/** What takeAccessToken needs of `window` (structural, so it is testable without a DOM). */
export interface TokenWindow {
  location: { href: string }
  history: { state: unknown; replaceState(data: unknown, unused: string, url: string): void }
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
}

/**
 * The serve-mode access token. The printed URL carries it once as `?token=`; the first load keeps it in
 * this tab's sessionStorage (this origin and this tab only; survives a reload, gone with the tab) and
 * removes it from the address bar and the history entry (history.replaceState). It is sent only as an
 * `Authorization: Bearer` header, never as a cookie: a page of another origin (another 127.0.0.1 port
 * included) cannot read it or make the browser attach it.
 */
export function takeAccessToken(win: TokenWindow = globalThis as unknown as TokenWindow): string | null {
  const url = new URL(win.location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl !== null) {
    url.searchParams.delete('token')
    win.history.replaceState(win.history.state, '', url.pathname + url.search + url.hash)
    try {
      win.sessionStorage.setItem(TOKEN_KEY, fromUrl)
    } catch {
      // storage disabled: the token lives in memory only (a reload then needs the printed URL again)
    }
    return fromUrl
  }
  try {
    return win.sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

/** Incremental text/event-stream parser: push decoded text, get the `data` of each complete event. */
export class EventStreamParser {
  private buffer = ''
  private data: string[] = []

  push(text: string): string[] {
    this.buffer += text
    const out: string[] = []
    const lines = this.buffer.split(/\r\n|\r|\n/)
    this.buffer = lines.pop() ?? '' // the unfinished line
    for (const line of lines) {
      if (line === '') {
        if (this.data.length) out.push(this.data.join('\n'))
        this.data = []
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      } // comments (": ping") and other fields are ignored
    }
    return out
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Serve mode: POST /api/op/<name> and the event stream, each with `Authorization: Bearer <token>`. */
export class HttpClient implements ApiClient {
  readonly transport = 'http' as const

  constructor(private readonly token: string | null = takeAccessToken()) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    if (!this.token) throw new ApiCallError('unauthorised', NO_TOKEN)
    return { ...extra, authorization: `Bearer ${this.token}` }
  }

  async call<K extends OpName>(op: K, req: Req<K>): Promise<Res<K>> {
    const r = await fetch(`/api/op/${op}`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(req ?? {}),
      credentials: 'omit',
    })
    let body: unknown
    try {
      body = await r.json()
    } catch {
      throw new ApiCallError('http', `${op}: HTTP ${r.status}`)
    }
    return unwrap<Res<K>>(body)
  }

  /**
   * The event stream read with fetch (EventSource cannot send the Authorization header). Reconnects with
   * backoff when the connection drops, as EventSource would; stops on 401/403 (the token is not valid
   * for this server, retrying cannot help).
   */
  subscribe(cb: (ev: ApiEvent) => void): () => void {
    let stopped = false
    let ctrl: AbortController | undefined
    const run = async (): Promise<void> => {
      let delay = 1000
      while (!stopped) {
        ctrl = new AbortController()
        try {
          const r = await fetch('/api/events', {
            headers: this.headers({ accept: 'text/event-stream' }),
            credentials: 'omit',
            signal: ctrl.signal,
          })
          if (r.status === 401 || r.status === 403) {
            console.error(`event stream refused (HTTP ${r.status}): ${NO_TOKEN}`)
            return
          }
          if (!r.ok || !r.body) throw new Error(`event stream: HTTP ${r.status}`)
          delay = 1000
          const parser = new EventStreamParser()
          const reader = r.body.pipeThrough(new TextDecoderStream()).getReader()
          for (;;) {
            const { value, done } = await reader.read()
            if (done) break
            for (const data of parser.push(value)) cb(JSON.parse(data) as ApiEvent)
          }
        } catch (e) {
          if (stopped) return
          if (e instanceof ApiCallError) return console.error(e.message)
          console.warn('event stream dropped, reconnecting:', e)
        }
        await sleep(delay)
        delay = Math.min(delay * 2, 15_000)
      }
    }
    void run()
    return () => {
      stopped = true
      ctrl?.abort()
    }
  }
}
