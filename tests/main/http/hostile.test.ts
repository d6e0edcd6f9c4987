/**
 * Attacks on the real serve process (`node out/main/serve.js`, built first: `npm test` does it) over real
 * sockets: malformed request lines and paths, bad and missing credentials, the old cookie, cross-origin
 * and non-JSON POSTs, big bodies, foreign Host headers, aborted and half-sent requests. Afterwards the
 * server must still answer a valid request, must not have logged an unhandled error, and its RSS must not
 * have grown without bound. The browser half (a page on another port) is tests/e2e/crossOrigin.test.ts.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServedApp, type ServedApp } from '../../e2e/serveApp'
import { ROOT } from '../../helpers/paths'

let app: ServedApp
let port: number
const rssBefore: number[] = []
/** attack -> answer, printed at the end (the table in the report) */
const answers: [string, string][] = []

const rssMb = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.proc.pid}/status`, 'utf8'))![1]) / 1024

/** Sends raw bytes, returns the status line's code (0 if the server closed without answering). */
function raw(request: string | Buffer, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let got = ''
    const t = setTimeout(() => {
      sock.destroy()
      reject(new Error(`no answer in ${timeoutMs} ms to ${String(request).slice(0, 80)}`))
    }, timeoutMs)
    sock.on('data', (d) => {
      got += d.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got)
      if (m) {
        clearTimeout(t)
        sock.destroy()
        resolve(Number(m[1]))
      }
    })
    sock.on('error', () => undefined)
    sock.on('close', () => {
      clearTimeout(t)
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0))
    })
    sock.write(request)
  })
}

const host = (): string => `127.0.0.1:${port}`
const bearer = (): string => `Authorization: Bearer ${app.token}\r\n`
const line = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: ${host()}\r\n${extra}Connection: close\r\n\r\n`
const post = (target: string, headers: string, body: string): string =>
  `POST ${target} HTTP/1.1\r\nHost: ${host()}\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`

async function expectAnswer(name: string, request: string | Buffer, status: number): Promise<void> {
  const got = await raw(request)
  answers.push([name, String(got)])
  expect(got, name).toBe(status)
}

async function valid(): Promise<void> {
  const r = await app.call('app.status')
  expect(r.status).toBe(200)
  expect((await fetch(`${app.origin}/`)).status).toBe(200)
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'out', 'main', 'serve.js'))) throw new Error('run `npm run build` first (npm test does it)')
  app = await startServedApp()
  port = Number(new URL(app.origin).port)
  // let start-up finish (the demo's data and model are registered a few seconds after the engine is up)
  const projects = (await app.call('projects.list')).body.result as { id: number }[]
  for (const until = Date.now() + 45_000; ; await new Promise((r) => setTimeout(r, 500))) {
    if (JSON.stringify((await app.call('models.list', { projectId: projects[0].id })).body).includes('demo-resnet8')) break
    if (Date.now() > until) throw new Error(`the demo model was not registered in 45 s:\n${app.output()}`)
  }
  for (let i = 0; i < 20; i++) await valid() // warm the paths the attacks use
  rssBefore.push(rssMb())
}, 90_000)

afterAll(async () => {
  await app?.stop()
  if (answers.length) console.log(`attack | answer\n${answers.map(([a, b]) => `${a} | ${b}`).join('\n')}`)
})

describe('serve mode under attack', () => {
  it('answers malformed paths and request lines with 4xx and keeps serving', async () => {
    await expectAnswer('GET /%E0%A4%A (bad UTF-8 escape), with token', line('/%E0%A4%A', bearer()), 400)
    await expectAnswer('GET /%E0%A4%A, no token', line('/%E0%A4%A'), 400)
    await expectAnswer('POST /api/op/%E0%A4%A with token', post('/api/op/%E0%A4%A', `${bearer()}Content-Type: application/json\r\n`, '{}'), 404)
    await expectAnswer('GET /..%2f..%2fetc/passwd', line('/..%2f..%2fetc/passwd'), 400)
    await expectAnswer('GET /../../etc/passwd (raw)', line('/../../etc/passwd'), 400)
    await expectAnswer('GET /assets/..%5c..%5cpackage.json', line('/assets/..%5c..%5cpackage.json'), 400)
    await expectAnswer('GET /%00index.html', line('/%00index.html'), 400)
    await expectAnswer('GET http://evil.example/ (absolute form)', line('http://evil.example/'), 400)
    await expectAnswer('GET /aaa... (3,000 chars)', line('/' + 'a'.repeat(3000)), 414)
    await expectAnswer('GET /aaa... (100 KB)', line('/' + 'a'.repeat(100_000)), 431)
    await expectAnswer('request line "GARBAGE"', 'GARBAGE\r\n\r\n', 400)
    await expectAnswer('GET / HTTP/9.9', `GET / HTTP/9.9\r\nHost: ${host()}\r\n\r\n`, 400)
    await expectAnswer('header with a control character', line('/', 'X-Evil: a\x01b\r\n'), 400)
    await expectAnswer('header without a colon', line('/', 'NoColonHere\r\n'), 400)
    await expectAnswer('binary garbage', Buffer.from([0, 255, 1, 2, 13, 10, 13, 10]), 400)
    await valid()
  })

  it('refuses missing, malformed and cookie credentials with 401 (never 500)', async () => {
    const op = (headers: string): string => post('/api/op/projects.list', `Content-Type: application/json\r\n${headers}`, '{}')
    await expectAnswer('API, no credentials', op(''), 401)
    await expectAnswer('API, cookie daft_token=<token> only', op(`Cookie: daft_token=${app.token}\r\n`), 401)
    await expectAnswer('API, malformed cookie', op('Cookie: daft_token=%E0%A4%A; =; ;;\r\n'), 401)
    await expectAnswer('static, malformed cookie', line('/', 'Cookie: %E0%A4%A=%\r\n'), 200)
    await expectAnswer('API, ?token=<token> in the URL', post(`/api/op/projects.list?token=${app.token}`, 'Content-Type: application/json\r\n', '{}'), 401)
    await expectAnswer('API, "Authorization: Bearer"', op('Authorization: Bearer\r\n'), 401)
    await expectAnswer('API, "Authorization: <token>" (no scheme)', op(`Authorization: ${app.token}\r\n`), 401)
    await expectAnswer('API, Bearer <token> extra', op(`Authorization: Bearer ${app.token} extra\r\n`), 401)
    await expectAnswer('API, Bearer <8 KB>', op(`Authorization: Bearer ${'x'.repeat(8000)}\r\n`), 401)
    await expectAnswer('API, Bearer <token prefix>', op(`Authorization: Bearer ${app.token.slice(0, -1)}\r\n`), 401)
    await expectAnswer('event stream, no credentials', line('/api/events'), 401)
    await expectAnswer('event stream, cookie only', line('/api/events', `Cookie: daft_token=${app.token}\r\n`), 401)
    await valid()
  })

  it('refuses cross-origin and non-JSON POSTs, with and without the token', async () => {
    const op = (headers: string): string => post('/api/op/projects.list', headers, '{}')
    await expectAnswer('Origin :8888, text/plain, cookie (the old CSRF)', op(`Origin: http://127.0.0.1:8888\r\nContent-Type: text/plain\r\nCookie: daft_token=${app.token}\r\n`), 403)
    await expectAnswer('Origin :8888, text/plain, no token', op('Origin: http://127.0.0.1:8888\r\nContent-Type: text/plain\r\n'), 403)
    await expectAnswer('Origin :8888, JSON, with token', op(`Origin: http://127.0.0.1:8888\r\nContent-Type: application/json\r\n${bearer()}`), 403)
    await expectAnswer('Origin null, JSON, with token', op(`Origin: null\r\nContent-Type: application/json\r\n${bearer()}`), 403)
    await expectAnswer('Sec-Fetch-Site: same-site, with token', op(`Sec-Fetch-Site: same-site\r\nContent-Type: application/json\r\n${bearer()}`), 403)
    await expectAnswer('Sec-Fetch-Site: cross-site, with token', op(`Sec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n${bearer()}`), 403)
    await expectAnswer('event stream, Origin :8888, with token', line('/api/events', `Origin: http://127.0.0.1:8888\r\n${bearer()}`), 403)
    await expectAnswer('OPTIONS preflight from :8888', `OPTIONS /api/op/projects.list HTTP/1.1\r\nHost: ${host()}\r\nOrigin: http://127.0.0.1:8888\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n`, 403)
    await expectAnswer('same origin, text/plain, with token', op(`Origin: http://${host()}\r\nContent-Type: text/plain\r\n${bearer()}`), 415)
    await expectAnswer('no Content-Type, with token', op(bearer()), 415)
    await expectAnswer('form-urlencoded, with token', op(`Content-Type: application/x-www-form-urlencoded\r\n${bearer()}`), 415)
    await expectAnswer('text/plain, no token, no Origin', op('Content-Type: text/plain\r\n'), 401)
    await expectAnswer('same origin, JSON, with token (control)', op(`Origin: http://${host()}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: application/json\r\n${bearer()}`), 200)
    await valid()
  })

  it('refuses foreign Host headers (DNS rebinding) with 403', async () => {
    const op = (hostLine: string): string => `POST /api/op/projects.list HTTP/1.1\r\n${hostLine}${bearer()}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`
    await expectAnswer('Host: evil.example:<port>', op(`Host: evil.example:${port}\r\n`), 403)
    await expectAnswer('Host: 127.0.0.1:1 (other port)', op('Host: 127.0.0.1:1\r\n'), 403)
    await expectAnswer('Host: 127.0.0.1 (no port)', op('Host: 127.0.0.1\r\n'), 403)
    await expectAnswer('HTTP/1.0 without Host', `GET / HTTP/1.0\r\n\r\n`, 403)
    await expectAnswer('HTTP/1.1 without Host', `GET / HTTP/1.1\r\nConnection: close\r\n\r\n`, 400)
    await valid()
  })

  it('refuses big bodies with 413 and survives aborted and half-sent requests', async () => {
    const headers = `${bearer()}Content-Type: application/json\r\n`
    await expectAnswer('declared Content-Length 10 GB', `POST /api/op/projects.list HTTP/1.1\r\nHost: ${host()}\r\n${headers}Content-Length: 10000000000\r\nConnection: close\r\n\r\n{}`, 413)
    const big = JSON.stringify({ x: 'a'.repeat(2 << 20) })
    const sized = await fetch(`${app.origin}/api/op/projects.list`, { method: 'POST', headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/json' }, body: big })
    answers.push(['2 MiB body with Content-Length', String(sized.status)])
    expect(sized.status).toBe(413)
    // chunked, no Content-Length: cut off while streaming
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 5) c.enqueue(new Uint8Array(1 << 20).fill(32))
        else c.close()
      },
    })
    const chunked = await fetch(`${app.origin}/api/op/projects.list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    answers.push(['5 MiB chunked body', String(chunked.status)])
    expect(chunked.status).toBe(413)
    await expectAnswer('unauthenticated 2 MiB body', post('/api/op/projects.list', 'Content-Type: application/json\r\n', big), 401)
    // half-sent bodies and headers, then the client vanishes
    const vanish = (text: string): Promise<void> =>
      new Promise((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.write(text)
          setTimeout(() => {
            s.destroy()
            resolve()
          }, 20)
        })
        s.on('error', () => resolve())
      })
    for (let i = 0; i < 50; i++) {
      await Promise.all([
        vanish(`POST /api/op/projects.list HTTP/1.1\r\nHost: ${host()}\r\n${headers}Content-Length: 1000\r\n\r\n{"a":`),
        vanish(`GET /api/events HTTP/1.1\r\nHost: ${host()}\r\n${bearer()}\r\n`),
        vanish(`GET / HTTP/1.1\r\nHost: ${host()}\r\nX-Half: `),
      ])
    }
    answers.push(['150 requests cut off mid-body / mid-headers / open event streams', 'connections dropped, server up'])
    await valid()
  })

  it('answers type-confused operation bodies without crashing', async () => {
    const bodies: [string, unknown][] = [
      ['fs.listDir', { path: { toString: 1 } }],
      ['fs.listDir', { path: '\0/etc' }],
      ['images.get', { path: ['a'], size: 'big' }],
      ['images.get', { path: '/etc/passwd' }],
      ['datasets.get', { id: 'x' }],
      ['datasets.preview', { id: 1e308 }],
      ['runs.get', { runId: { $gt: 0 } }],
      ['runs.export', { runId: -1, format: 'tfjs', out: 5 }],
      ['experiments.compare', { experimentId: null }],
      ['analysis.get', { runId: '1 OR 1=1' }],
    ]
    for (const [op, body] of bodies) {
      const r = await app.call(op, body)
      answers.push([`${op} ${JSON.stringify(body)}`, `${r.status} ${r.body.error?.code ?? 'ok'}`])
      expect(r.status, op).toBeGreaterThanOrEqual(400) // 400 from the service's checks; 500 where a service has none
      expect(app.proc.exitCode, op).toBeNull()
    }
    await valid()
  })

  it('after a burst of all of them: still serving, nothing unhandled, RSS bounded', async () => {
    const burst = [
      line('/%E0%A4%A', bearer()),
      line('/..%2f..%2fetc/passwd'),
      line('/' + 'a'.repeat(20_000)),
      post('/api/op/projects.list', `Origin: http://127.0.0.1:8888\r\nContent-Type: text/plain\r\nCookie: daft_token=${app.token}\r\n`, '{}'),
      post('/api/op/projects.list', `Content-Type: application/json\r\nCookie: daft_token=%E0%A4%A\r\n`, '{}'),
      post('/api/op/projects.list', `${bearer()}Content-Type: application/json\r\n`, 'x'.repeat(300_000)),
      `POST /api/op/projects.list HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
      'GARBAGE\r\n\r\n',
    ]
    for (let round = 0; round < 40; round++) await Promise.all(burst.map((r) => raw(r)))
    await valid()
    expect(app.proc.exitCode).toBeNull()
    const after = rssMb()
    const growth = after - rssBefore[0]
    answers.push([`RSS before ${rssBefore[0].toFixed(1)} MB, after ${after.toFixed(1)} MB`, `growth ${growth.toFixed(1)} MB`])
    // a service may fail on a type-confused body (500, logged as "request failed"); nothing may go unhandled
    expect(app.output()).not.toMatch(/unhandled rejection|uncaught exception/i)
    expect(growth).toBeLessThan(100)
  })
})

describe('serve start-up refusals', () => {
  const run = (args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string; dataDir: string } => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daft-refuse-'))
    const r = spawnSync(process.execPath, [join(ROOT, 'out', 'main', 'serve.js'), '--data-dir', dataDir, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    })
    return { status: r.status, stderr: r.stderr, dataDir }
  }

  it('exits non-zero on a busy port before opening the store, on a short DAFT_TOKEN and a bad --port', () => {
    const busy = run(['--port', String(port)])
    answers.push([`serve --port ${port} (busy)`, `exit ${busy.status}: ${busy.stderr.trim().slice(0, 60)}...`])
    expect(busy.status).toBe(1)
    expect(busy.stderr).toMatch(/port \d+ on 127\.0\.0\.1 is in use.*--port 0/s)
    expect(existsSync(join(busy.dataDir, 'daft.sqlite'))).toBe(false)
    const short = run(['--port', '0'], { DAFT_TOKEN: 'short-token' })
    answers.push(['DAFT_TOKEN=short-token', `exit ${short.status}: ${short.stderr.trim()}`])
    expect(short.status).toBe(2)
    expect(short.stderr).toMatch(/DAFT_TOKEN refused: it has 11 characters; at least 32/)
    const badPort = run(['--port', '80x'])
    expect(badPort.status).toBe(2)
    expect(badPort.stderr).toMatch(/--port 80x/)
    for (const r of [busy, short, badPort]) rmSync(r.dataDir, { recursive: true, force: true })
  })
})
