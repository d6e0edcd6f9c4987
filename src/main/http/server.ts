/**
 * HTTP transport for serve mode: the built renderer as static files, every API operation as
 * POST /api/op/<name> (JSON in, JSON out) and live events as server-sent events on /api/events.
 * Listens on 127.0.0.1 only. Every request needs the access token: `?token=` on the first page load
 * (which sets an HttpOnly cookie), the cookie afterwards, or an `Authorization: Bearer` header.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { timingSafeEqual } from 'node:crypto'
import { ApiError, isOpName, type ApiErrorBody } from '../../shared/api'
import type { Services } from '../services'
import type { EventHub } from '../services/events'

export const TOKEN_COOKIE = 'daft_token'
const MAX_BODY = 1 << 20

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
}

export interface HttpServerOptions {
  services: Services
  events: EventHub
  /** folder with the built renderer (index.html) */
  staticDir: string
  token: string
}

function sameToken(a: string | undefined, b: string): boolean {
  if (!a) return false
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookieToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === TOKEN_COOKIE) return decodeURIComponent(v.join('='))
  }
  return undefined
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(text)
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } } satisfies ApiErrorBody)
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > MAX_BODY) throw new ApiError('too_large', 'request body over 1 MiB')
    chunks.push(c as Buffer)
  }
  if (size === 0) return {}
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new ApiError('bad_json', 'request body is not valid JSON')
  }
}

export function createHttpServer(opts: HttpServerOptions): Server {
  const { services, events, staticDir, token } = opts

  async function serveStatic(res: ServerResponse, pathname: string): Promise<void> {
    const rel = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '')
    const file = join(staticDir, rel || 'index.html')
    if (!file.startsWith(staticDir + sep) && file !== staticDir) return sendError(res, 403, 'forbidden', 'outside the app folder')
    let target = file
    try {
      const st = await stat(target)
      if (st.isDirectory()) target = join(target, 'index.html')
    } catch {
      // client-side routes fall back to the app shell
      target = join(staticDir, 'index.html')
    }
    try {
      const body = await readFile(target)
      res.writeHead(200, { 'content-type': MIME[extname(target)] ?? 'application/octet-stream', 'cache-control': 'no-cache' })
      res.end(body)
    } catch {
      sendError(res, 404, 'not_found', `${pathname} not found (was the renderer built?)`)
    }
  }

  function serveEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
    res.write(': connected\n\n')
    const unsubscribe = events.subscribe((ev) => res.write(`data: ${JSON.stringify(ev)}\n\n`))
    const keepAlive = setInterval(() => res.write(': ping\n\n'), 15000)
    req.on('close', () => {
      clearInterval(keepAlive)
      unsubscribe()
    })
  }

  return createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      // DNS-rebinding guard: only loopback host names
      const host = (req.headers.host ?? '').replace(/:\d+$/, '')
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) return sendError(res, 403, 'bad_host', 'unexpected Host header')

      const queryToken = url.searchParams.get('token') ?? undefined
      const bearer = req.headers.authorization?.replace(/^Bearer\s+/i, '')
      const authorised = sameToken(queryToken, token) || sameToken(cookieToken(req), token) || sameToken(bearer, token)
      if (!authorised) return sendError(res, 401, 'unauthorised', 'missing or wrong access token: open the URL that `npm run serve` printed')

      if (queryToken && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
        // set the cookie and drop the token from the address bar
        res.writeHead(302, {
          'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
          location: url.pathname,
        })
        return res.end()
      }

      if (url.pathname === '/api/events' && req.method === 'GET') return serveEvents(req, res)
      if (url.pathname.startsWith('/api/op/')) {
        if (req.method !== 'POST') return sendError(res, 405, 'method', 'use POST')
        const op = url.pathname.slice('/api/op/'.length)
        if (!isOpName(op)) return sendError(res, 404, 'unknown_op', `unknown operation ${op}`)
        const body = await readBody(req)
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          return sendError(res, 400, 'bad_request', 'request body must be a JSON object')
        }
        const result = await (services[op] as (r: unknown) => Promise<unknown>)(body)
        return sendJson(res, 200, { result })
      }
      if (url.pathname.startsWith('/api/')) return sendError(res, 404, 'not_found', `${url.pathname} not found`)
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'method', 'use GET')
      return serveStatic(res, url.pathname)
    } catch (e) {
      if (e instanceof ApiError) return sendError(res, 400, e.code, e.message)
      return sendError(res, 500, 'internal', (e as Error)?.message ?? String(e))
    }
  })
}

/** Listens on 127.0.0.1:port; if the port is busy, on a free one. Resolves with the port used. */
export function listenLoopback(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const tryListen = (p: number, fallback: boolean): void => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('listening', onListening)
        if (err.code === 'EADDRINUSE' && fallback) tryListen(0, false)
        else reject(err)
      }
      const onListening = (): void => {
        server.off('error', onError)
        const addr = server.address()
        resolve(typeof addr === 'object' && addr ? addr.port : p)
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(p, '127.0.0.1')
    }
    tryListen(port, port !== 0)
  })
}
