import { createServer, request, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpServer, listenLoopback, PortInUseError } from '../../../src/main/http/server'
import { generateToken, MIN_TOKEN_LENGTH, tokenProblem } from '../../../src/main/http/security'
import { EventHub } from '../../../src/main/services/events'
import type { Services } from '../../../src/main/services'
import { ApiError } from '../../../src/shared/api'

const TOKEN = 'test-token-0123456789-abcdefghijklmnop'
const auth = { authorization: `Bearer ${TOKEN}` }
const json = { ...auth, 'content-type': 'application/json' }
let server: Server
let base: string
let staticDir: string
const events = new EventHub()

// real HTTP server, real sockets; the services are small real implementations
const services = {
  'app.status': async () => ({ version: '0', mode: 'serve', dataDir: '/x', engine: { state: 'ready' } }),
  'projects.list': async () => [],
  'fs.listDir': async () => {
    throw new ApiError('not_found', '/nope: no such folder')
  },
  'fs.pickFolder': async () => null,
} as unknown as Services

/** A request with headers fetch() would not let us set (Host). */
function rawStatus(path: string, method: string, headers: Record<string, string>, body = ''): Promise<number> {
  const port = new URL(base).port
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end(body)
  })
}

beforeAll(async () => {
  staticDir = mkdtempSync(join(tmpdir(), 'daft-static-'))
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>shell</title>')
  server = createHttpServer({ services, events, staticDir, token: TOKEN })
  const port = await listenLoopback(server, 0)
  base = `http://127.0.0.1:${port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
  rmSync(staticDir, { recursive: true, force: true })
})

describe('serve-mode HTTP transport', () => {
  it('serves the renderer without the token, with the security headers', async () => {
    for (const path of ['/', '/index.html', `/?token=${TOKEN}`, '/?token=wrong']) {
      const r = await fetch(base + path, { redirect: 'manual' })
      expect(r.status, path).toBe(200)
      expect(await r.text()).toContain('<title>shell</title>')
      expect(r.headers.get('set-cookie'), 'no cookie any more').toBeNull()
      expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/)
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      expect(r.headers.get('referrer-policy')).toBe('no-referrer')
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin')
      expect(r.headers.get('cross-origin-resource-policy')).toBe('same-origin')
    }
    expect((await fetch(`${base}/missing.js`)).status).toBe(404)
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405)
  })

  it('answers 401 to API requests without the bearer token: no cookie, no query token', async () => {
    const cases: [string, RequestInit][] = [
      ['/api/op/app.status', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
      ['/api/events', {}],
      [`/api/op/app.status?token=${TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
      ['/api/op/app.status', { method: 'POST', headers: { 'content-type': 'application/json', cookie: `daft_token=${TOKEN}` }, body: '{}' }],
      ['/api/op/app.status', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: '{}' }],
      ['/api/op/app.status', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${TOKEN}` }, body: '{}' }],
      ['/api/op/app.status', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}x` }, body: '{}' }],
    ]
    for (const [path, init] of cases) {
      const r = await fetch(base + path, init)
      expect(r.status, `${path} ${JSON.stringify(init.headers)}`).toBe(401)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorised')
    }
    const ok = await fetch(`${base}/api/op/app.status`, { method: 'POST', headers: json, body: '{}' })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect(((await ok.json()) as { result: { engine: { state: string } } }).result.engine.state).toBe('ready')
  })

  it('refuses other origins (Origin, Sec-Fetch-Site) and non-JSON bodies, with or without the token', async () => {
    const own = base
    const post = (headers: Record<string, string>): Promise<Response> => fetch(`${base}/api/op/projects.list`, { method: 'POST', headers, body: '{}' })
    expect((await post({ 'content-type': 'application/json', origin: 'http://127.0.0.1:8888' })).status).toBe(403)
    expect((await post({ ...json, origin: 'http://127.0.0.1:8888' })).status).toBe(403)
    expect((await post({ ...json, origin: 'null' })).status).toBe(403)
    expect((await post({ ...json, 'sec-fetch-site': 'same-site' })).status).toBe(403)
    expect((await post({ ...json, 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await post({ ...auth, 'content-type': 'text/plain' })).status).toBe(415)
    expect((await post({ ...auth, 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415)
    expect((await post({ 'content-type': 'text/plain' })).status).toBe(401)
    expect((await post({ ...json, origin: own, 'sec-fetch-site': 'same-origin' })).status).toBe(200)
    expect((await post({ ...auth, 'content-type': 'Application/JSON; charset=utf-8' })).status).toBe(200)
    const stream = await fetch(`${base}/api/events`, { headers: { ...auth, origin: 'http://127.0.0.1:8888' } })
    expect(stream.status).toBe(403)
    const preflight = await fetch(`${base}/api/op/projects.list`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:8888', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('rejects unknown operations, bad JSON, big bodies and foreign Host headers; service errors keep their code', async () => {
    expect((await fetch(`${base}/api/op/nope`, { method: 'POST', headers: json, body: '{}' })).status).toBe(404)
    expect((await fetch(`${base}/api/op/app.status`, { headers: auth })).status).toBe(405)
    const bad = await fetch(`${base}/api/op/app.status`, { method: 'POST', headers: json, body: '{not json' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_json')
    expect((await fetch(`${base}/api/op/app.status`, { method: 'POST', headers: json, body: '[1]' })).status).toBe(400)
    const big = await fetch(`${base}/api/op/app.status`, { method: 'POST', headers: json, body: JSON.stringify({ x: 'a'.repeat(2 << 20) }) })
    expect(big.status).toBe(413)
    const notFound = await fetch(`${base}/api/op/fs.listDir`, { method: 'POST', headers: json, body: '{}' })
    expect(((await notFound.json()) as { error: unknown }).error).toEqual({ code: 'not_found', message: '/nope: no such folder' })
    const port = new URL(base).port
    expect(await rawStatus('/api/op/app.status', 'POST', { ...json, host: `evil.example:${port}` }, '{}')).toBe(403)
    expect(await rawStatus('/api/op/app.status', 'POST', { ...json, host: '127.0.0.1:1' }, '{}')).toBe(403)
    expect(await rawStatus('/api/op/app.status', 'POST', { ...json, host: `localhost:${port}` }, '{}')).toBe(200)
  })

  it('streams events to a client with the bearer token', async () => {
    const ctrl = new AbortController()
    const r = await fetch(`${base}/api/events`, { headers: auth, signal: ctrl.signal })
    expect(r.headers.get('content-type')).toBe('text/event-stream')
    const reader = r.body!.getReader()
    await reader.read() // ": connected"
    events.publish({ type: 'engine.state', state: 'ready' })
    let text = ''
    while (!text.includes('engine.state')) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('"state":"ready"')
    ctrl.abort()
    await expect.poll(() => events.size).toBe(0)
  })

  it('refuses a busy port (no silent move), takes any free one for 0, binds loopback only', async () => {
    const blocker = createServer()
    const busy = await listenLoopback(blocker, 0)
    const s2 = createHttpServer({ services, events, staticDir, token: TOKEN })
    await expect(listenLoopback(s2, busy)).rejects.toBeInstanceOf(PortInUseError)
    const got = await listenLoopback(s2, 0)
    expect(got).not.toBe(busy)
    const addr = s2.address()
    expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1')
    s2.close()
    blocker.close()
  })

  it('accepts only long, URL-safe tokens and generates 32 random bytes', () => {
    expect(tokenProblem('short')).toMatch(/at least 32/)
    expect(tokenProblem('a'.repeat(MIN_TOKEN_LENGTH - 1))).toBeDefined()
    expect(tokenProblem('a'.repeat(MIN_TOKEN_LENGTH))).toBeUndefined()
    expect(tokenProblem(`${'a'.repeat(40)}&x=1`)).toMatch(/allowed/)
    const t = generateToken()
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(tokenProblem(t)).toBeUndefined()
    expect(generateToken()).not.toBe(t)
  })
})
