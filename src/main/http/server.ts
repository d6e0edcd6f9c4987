/**
 * HTTP transport for serve mode: the built renderer as static files, every API operation as
 * POST /api/op/<name> (JSON in, JSON out) and live events as a server-sent-event stream on /api/events.
 * Listens on 127.0.0.1 only.
 *
 * Static files are public build output and need no token. Everything under /api/ needs
 * `Authorization: Bearer <token>` (the renderer keeps the token of the printed URL in its tab, see
 * renderer/src/api/http.ts); there is no cookie or other credential a page of another origin could ride.
 * Answers, in this order: 414 overlong URL, 400 malformed request target, 403 foreign Host (DNS
 * rebinding), then for /api/: 403 foreign Origin or Sec-Fetch-Site, 401 no or wrong token, 405 wrong
 * method, 404 unknown operation, 415 body not application/json, 413 body over 1 MiB, 400 bad JSON.
 * Every handler is awaited and every error answered: a request can fail, the process does not.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { ApiError, isOpName, type ApiErrorBody } from '../../shared/api'
import type { Services } from '../services'
import type { EventHub } from '../services/events'
import { eventStreams } from './eventStream'
import { checkBearer, checkCaller, checkHost, HttpError, requireJson, SECURITY_HEADERS, setSecurityHeaders, tokenChecker } from './security'
import { serveStatic } from './static'

export { HttpError } from './security'

const MAX_BODY = 1 << 20
const MAX_URL = 2048

export interface HttpServerOptions {
  services: Services
  events: EventHub
  /** folder with the built renderer (index.html) */
  staticDir: string
  token: string
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy() // already answering (an event stream): the connection is all that is left to end
    return
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>, issues?: ApiErrorBody['error']['issues']): void {
  sendJson(res, status, { error: { code, message, ...(issues ? { issues } : {}) } } satisfies ApiErrorBody, headers)
}

const tooLarge = (): HttpError => new HttpError(413, 'too_large', `request body over ${MAX_BODY >> 20} MiB`)

/** Reads a JSON body of at most MAX_BODY bytes. Past the limit it answers at once; the rest is read and dropped. */
function readJsonBody(req: IncomingMessage): Promise<unknown> {
  if (Number(req.headers['content-length']) > MAX_BODY) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (): void => {
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose)
    }
    const onData = (c: Buffer): void => {
      size += c.length
      if (size <= MAX_BODY) return void chunks.push(c)
      done()
      req.resume()
      reject(tooLarge())
    }
    const onEnd = (): void => {
      done()
      if (size === 0) return resolve({})
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      } catch {
        reject(new HttpError(400, 'bad_json', 'request body is not valid JSON'))
      }
    }
    const onClose = (): void => {
      done()
      reject(new HttpError(400, 'aborted', 'the request body was cut off'))
    }
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose)
  })
}

/** Requests the HTTP parser refuses (malformed request line or headers, headers over 16 KiB, timeouts). */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage
  if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy()
    return
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const headers = Object.entries(SECURITY_HEADERS)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n${headers}\r\n`)
}

/**
 * A 127.0.0.1 server with the connection-level guards (parser errors, timeouts) and no request handler
 * yet: serve.ts binds the port before it starts the app, so a busy port stops it before anything else.
 */
export function createLoopbackServer(): Server {
  const server = createServer()
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000 // receiving one request; an event stream's response is not limited
  server.on('clientError', onClientError)
  return server
}

/** Adds the request handler (static files, API, event stream) to a server from createLoopbackServer. */
export function serveApi(server: Server, opts: HttpServerOptions): Server {
  const { services, staticDir } = opts
  const isToken = tokenChecker(opts.token)
  const streamEvents = eventStreams(opts.events)

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res)
    const target = req.url ?? ''
    if (target.length > MAX_URL) throw new HttpError(414, 'uri_too_long', `request target over ${MAX_URL} characters`)
    if (!target.startsWith('/')) throw new HttpError(400, 'bad_request', 'the request target must be a path')
    const ownOrigin = checkHost(req)
    const path = target.split(/[?#]/, 1)[0]

    if (path !== '/api' && !path.startsWith('/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method', 'use GET', { allow: 'GET, HEAD' })
      return serveStatic(res, staticDir, path)
    }
    checkCaller(req, ownOrigin)
    checkBearer(req, isToken)
    if (path === '/api/events') {
      if (req.method !== 'GET') throw new HttpError(405, 'method', 'use GET', { allow: 'GET' })
      return streamEvents(req, res)
    }
    if (!path.startsWith('/api/op/')) throw new HttpError(404, 'not_found', `${path.slice(0, 200)} not found`)
    if (req.method !== 'POST') throw new HttpError(405, 'method', 'use POST', { allow: 'POST' })
    const op = path.slice('/api/op/'.length)
    if (!isOpName(op)) throw new HttpError(404, 'unknown_op', `unknown operation ${op.slice(0, 100)}`)
    requireJson(req)
    const body = await readJsonBody(req)
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'bad_request', 'request body must be a JSON object')
    const result = await (services[op] as (r: unknown) => Promise<unknown>)(body)
    sendJson(res, 200, { result })
  }

  function fail(res: ServerResponse, e: unknown): void {
    try {
      if (e instanceof HttpError) return sendError(res, e.status, e.code, e.message, e.headers)
      // a request its schema refused (services/validate.ts) is a 400 naming the fields, with them listed as `issues`
      if (e instanceof ApiError) return sendError(res, 400, e.code, e.message, undefined, e.issues)
      console.error('serve: request failed:', e)
      sendError(res, 500, 'internal', e instanceof Error ? e.message : String(e))
    } catch (again) {
      console.error('serve: could not answer a failed request:', again)
      res.destroy()
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((e: unknown) => fail(res, e))
  })
  return server
}

export function createHttpServer(opts: HttpServerOptions): Server {
  return serveApi(createLoopbackServer(), opts)
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is in use`)
    this.name = 'PortInUseError'
  }
}

/**
 * Listens on 127.0.0.1:port (0: any free port) and resolves with the port used. A busy port is an error
 * (PortInUseError): moving silently elsewhere would leave the bookmarked URL, token included, to whatever
 * holds the port.
 */
export function listenLoopback(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port) : err)
    }
    const onListening = (): void => {
      server.off('error', onError)
      const addr = server.address()
      resolve(typeof addr === 'object' && addr ? addr.port : port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, '127.0.0.1')
  })
}
