import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpServer, listenLoopback, TOKEN_COOKIE } from '../../../src/main/http/server'
import { EventHub } from '../../../src/main/services/events'
import type { Services } from '../../../src/main/services'
import { ApiError } from '../../../src/shared/api'

const TOKEN = 'test-token-123'
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

beforeAll(async () => {
  staticDir = mkdtempSync(join(tmpdir(), 'daft-static-'))
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>shell</title>')
  server = createHttpServer({ services, events, staticDir, token: TOKEN })
  const port = await listenLoopback(server, 0)
  base = `http://127.0.0.1:${port}`
})
afterAll(() => {
  server.close()
  rmSync(staticDir, { recursive: true, force: true })
})

describe('serve-mode HTTP transport', () => {
  it('answers 401 to any request without the token', async () => {
    for (const [path, method] of [['/', 'GET'], ['/index.html', 'GET'], ['/api/op/app.status', 'POST'], ['/api/events', 'GET']]) {
      const r = await fetch(base + path, { method, redirect: 'manual' })
      expect(r.status, path).toBe(401)
    }
    const wrong = await fetch(`${base}/?token=wrong`, { redirect: 'manual' })
    expect(wrong.status).toBe(401)
  })

  it('trades the URL token for an HttpOnly cookie, which then authorises requests', async () => {
    const r = await fetch(`${base}/?token=${TOKEN}`, { redirect: 'manual' })
    expect(r.status).toBe(302)
    const cookie = r.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`${TOKEN_COOKIE}=`)
    expect(cookie).toMatch(/HttpOnly/)
    const page = await fetch(`${base}/`, { headers: { cookie: cookie.split(';')[0] } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>shell</title>')
    const status = await fetch(`${base}/api/op/app.status`, { method: 'POST', headers: { cookie: cookie.split(';')[0] }, body: '{}' })
    expect(status.status).toBe(200)
    expect(((await status.json()) as { result: { engine: { state: string } } }).result.engine.state).toBe('ready')
  })

  it('rejects unknown operations, bad JSON and foreign Host headers; service errors keep their code', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` }
    expect((await fetch(`${base}/api/op/nope`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(404)
    const bad = await fetch(`${base}/api/op/app.status`, { method: 'POST', headers: auth, body: '{not json' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_json')
    const notFound = await fetch(`${base}/api/op/fs.listDir`, { method: 'POST', headers: auth, body: '{}' })
    expect(((await notFound.json()) as { error: unknown }).error).toEqual({ code: 'not_found', message: '/nope: no such folder' })
    const port = new URL(base).port
    const rebinding = await new Promise<number>((resolve) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/op/app.status', method: 'POST', headers: { ...auth, host: `evil.example:${port}` } }, (res) => resolve(res.statusCode ?? 0))
        req.end('{}')
      })
    })
    expect(rebinding).toBe(403)
  })

  it('streams events to SSE clients', async () => {
    const ctrl = new AbortController()
    const r = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ctrl.signal })
    const reader = r.body!.getReader()
    await reader.read() // ": connected"
    events.publish({ type: 'engine.state', state: 'ready' })
    let text = ''
    while (!text.includes('engine.state')) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('"state":"ready"')
    ctrl.abort()
  })

  it('falls back to a free port when the requested one is busy, and binds loopback only', async () => {
    const blocker = createServer()
    const busy = await listenLoopback(blocker, 0)
    const s2 = createHttpServer({ services, events, staticDir, token: TOKEN })
    const got = await listenLoopback(s2, busy)
    expect(got).not.toBe(busy)
    const addr = s2.address()
    expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1')
    s2.close()
    blocker.close()
  })
})
