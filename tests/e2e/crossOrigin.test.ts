/**
 * Another local origin attacks the workbench in the same browser: a page served by a tiny HTTP server on
 * another 127.0.0.1 port (same site, other origin), opened in Chromium while a workbench tab is logged in.
 * It tries the cross-site POSTs a browser sends without a preflight (text/plain fetch, text/plain form),
 * CORS fetches, reading the event stream (EventSource with credentials, fetch) and framing the app.
 * Nothing may reach a service: the import it tries must not happen, while the same call with the token works.
 */
import { createServer, type Server } from 'node:http'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, startServedApp, type ServedApp } from './serveApp'

let app: ServedApp
let browser: Awaited<ReturnType<typeof launchBrowser>>
let evil: Server
let evilOrigin: string
let images: string

function attackPage(target: string, importBody: Record<string, unknown>): string {
  const formName = JSON.stringify({ ...importBody, name: 'csrf-form', pad: '' }).slice(0, -2) // `..."pad":"` + '=' + value
  return `<!doctype html><title>evil</title><body>
<iframe name="sink" id="sink"></iframe>
<form id="csrf" method="POST" enctype="text/plain" target="sink" action="${target}/api/op/datasets.import">
  <input type="hidden" name='${formName}' value='"}'>
</form>
<iframe id="frame" src="${target}/"></iframe>
<script>
const framed = new Promise((r) => document.getElementById('frame').addEventListener('load', r))
const target = ${JSON.stringify(target)}
const body = ${JSON.stringify(JSON.stringify({ ...importBody, name: 'csrf-fetch' }))}
const results = (window.results = {})
const outcome = (p) => p.then((r) => (r.type === 'opaque' ? 'opaque (unreadable)' : 'read ' + r.status), (e) => 'blocked: ' + e.name)
async function attack() {
  results.noCorsTextPlain = await outcome(fetch(target + '/api/op/datasets.import', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body }))
  results.corsJson = await outcome(fetch(target + '/api/op/projects.list', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' }))
  results.corsBearerGuess = await outcome(fetch(target + '/api/op/projects.list', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer guess' }, body: '{}' }))
  results.streamFetch = await outcome(fetch(target + '/api/events', { credentials: 'include' }))
  results.streamNoCors = await outcome(fetch(target + '/api/events', { mode: 'no-cors', credentials: 'include' }))
  results.eventSource = await new Promise((resolve) => {
    const es = new EventSource(target + '/api/events', { withCredentials: true })
    let messages = 0
    es.onmessage = () => messages++
    es.onerror = () => { es.close(); resolve('error after ' + messages + ' messages') }
    setTimeout(() => { es.close(); resolve('open after ' + messages + ' messages') }, 3000)
  })
  await framed
  try {
    results.frameRead = 'read: ' + document.getElementById('frame').contentWindow.document.title
  } catch (e) {
    results.frameRead = 'blocked: ' + e.name
  }
  document.getElementById('csrf').submit()
  await new Promise((r) => setTimeout(r, 1000))
  results.done = true
}
attack()
</script></body>`
}

beforeAll(async () => {
  ;[app, browser] = await Promise.all([startServedApp(), launchBrowser()])
  images = mkdtempSync(join(tmpdir(), 'daft-csrf-images-'))
  for (const [cls, colour] of [['red', '#f00'], ['blue', '#00f']] as const) {
    mkdirSync(join(images, cls))
    for (let i = 0; i < 5; i++) {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: colour } }).png().toFile(join(images, cls, `${i}.png`))
    }
  }
  const projectId = ((await app.call('projects.list')).body.result as { id: number }[])[0].id
  const page = attackPage(app.origin, { projectId, root: images })
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(page)
  })
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()))
  evilOrigin = `http://127.0.0.1:${(evil.address() as { port: number }).port}`
})

afterAll(async () => {
  evil?.close()
  await browser?.close()
  await app?.stop()
  if (images) rmSync(images, { recursive: true, force: true })
})

describe('another 127.0.0.1 origin in the same browser', () => {
  it('can neither call the API nor read the event stream nor frame the app', async () => {
    // the user is logged in in another tab
    const workbench = await browser.context.newPage()
    await workbench.goto(app.url)
    await workbench.getByTestId('project-list').waitFor()

    const page = await browser.context.newPage()
    // what the server answered each request, blocked or not (Chromium's network log over CDP)
    const cdp = await browser.context.newCDPSession(page)
    await cdp.send('Network.enable')
    const sent = new Map<string, string>()
    const status = new Map<string, number>()
    const failed = new Map<string, string>()
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.request.url.startsWith(app.origin)) sent.set(e.requestId, `${e.request.method} ${e.request.url.slice(app.origin.length)} (${e.type === 'Other' && e.request.method === 'OPTIONS' ? 'preflight' : e.type})`)
    })
    cdp.on('Network.responseReceivedExtraInfo', (e) => status.set(e.requestId, e.statusCode))
    cdp.on('Network.loadingFailed', (e) => failed.set(e.requestId, e.blockedReason ?? e.corsErrorStatus?.corsError ?? e.errorText))

    await page.goto(evilOrigin)
    await expect.poll(() => page.evaluate('window.results?.done'), { timeout: 20_000 }).toBe(true)
    const results = (await page.evaluate('window.results')) as Record<string, string>
    const seen = [...sent].map(([id, what]) => `${what} -> ${status.get(id) ?? 'no answer'}${failed.has(id) ? `, browser: ${failed.get(id)}` : ''}`)
    console.log('attacker page saw:', results, '\nserver answered:', seen)

    // the attacker's page reads nothing
    for (const key of ['noCorsTextPlain', 'corsJson', 'corsBearerGuess', 'streamFetch', 'streamNoCors', 'frameRead']) {
      expect(results[key], key).toMatch(/^(blocked|opaque)/)
    }
    expect(results.eventSource).toBe('error after 0 messages')
    // and the server refused every API request before any service ran
    const api = seen.filter((s) => s.includes(' /api/'))
    for (const what of ['POST /api/op/datasets.import (Fetch)', 'POST /api/op/datasets.import (Document)', 'OPTIONS /api/op/projects.list (preflight)', 'GET /api/events (Fetch)', 'GET /api/events (EventSource)']) {
      expect(api.some((s) => s.startsWith(`${what} -> 403`)), what).toBe(true)
    }
    // (a POST whose preflight was refused is never sent)
    expect(api.filter((s) => !/ -> 403|-> no answer, browser: Preflight/.test(s))).toEqual([])
    // the framed app: served, but the browser refuses to show it in another origin's frame
    expect(seen.find((s) => s.startsWith('GET / (Document)'))).toMatch(/-> 200, browser: /)

    // nothing was imported; the same call with the token works (the payload itself was valid)
    const projectId = ((await app.call('projects.list')).body.result as { id: number }[])[0].id
    const names = async (): Promise<string[]> => ((await app.call('datasets.list', { projectId })).body.result as { name: string }[]).map((d) => d.name)
    expect((await names()).filter((n) => n.startsWith('csrf'))).toEqual([])
    const control = await app.call('datasets.import', { projectId, root: images, name: 'csrf-control' })
    expect(control.status).toBe(200)
    expect(await names()).toContain('csrf-control')

    // and the logged-in tab is unaffected
    await workbench.reload()
    await expect.poll(() => workbench.getByTestId('project-list').innerText()).toMatch(/Demo: shapes under domain shift/)
  })
})
