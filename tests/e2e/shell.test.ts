import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, SCREENSHOT_DIR, startServedApp, type ServedApp } from './serveApp'

let app: ServedApp
let browser: Awaited<ReturnType<typeof launchBrowser>>

beforeAll(async () => {
  app = await startServedApp()
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

describe('serve mode in Chromium', () => {
  it('serves the page to anyone but the API only with the bearer token', async () => {
    const page = await fetch(app.origin + '/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect((await fetch(app.origin + '/api/op/projects.list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401)
    expect((await app.call('projects.list')).status).toBe(200)
  })

  it('loads the shell, names the active backend and lists the demo project', async () => {
    const page = await browser.context.newPage()
    const errors: string[] = []
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    const stream = page.waitForResponse((r) => r.url() === `${app.origin}/api/events`)
    await page.goto(app.url)
    await page.getByTestId('project-list').waitFor()
    // the live event stream: fetch() with the bearer header, no cookie
    expect((await stream).status()).toBe(200)
    expect((await (await stream).request().allHeaders()).authorization).toBe(`Bearer ${app.token}`)
    // the token moved into this tab's sessionStorage and out of the address bar; no cookie
    await expect.poll(() => page.url()).not.toContain('token=')
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([app.token])
    expect(await browser.context.cookies()).toEqual([])
    await expect.poll(() => page.getByTestId('project-list').innerText()).toMatch(/Demo: shapes under domain shift/)
    await expect.poll(() => page.getByTestId('backend').innerText(), { timeout: 60_000 }).toBe('Backend: wasm')
    expect(await page.getByTestId('device').innerText()).toMatch(/wasm/i)
    mkdirSync(SCREENSHOT_DIR, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'shell.png'), fullPage: true })
    // a reload keeps working from sessionStorage; the CSP let the app run without violations
    await page.reload()
    await expect.poll(() => page.getByTestId('project-list').innerText()).toMatch(/Demo: shapes under domain shift/)
    expect(errors.filter((e) => /Content Security Policy|401|unauthorised/i.test(e))).toEqual([])
  })
})
