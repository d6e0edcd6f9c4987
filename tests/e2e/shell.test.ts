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
  it('rejects requests without the token', async () => {
    expect((await fetch(app.origin + '/')).status).toBe(401)
    expect((await fetch(app.origin + '/api/op/projects.list', { method: 'POST', body: '{}' })).status).toBe(401)
  })

  it('loads the shell, names the active backend and lists the demo project', async () => {
    const page = await browser.context.newPage()
    await page.goto(app.url)
    // the token moved into a cookie and out of the address bar
    expect(page.url()).not.toContain('token=')
    await page.getByTestId('project-list').waitFor()
    await expect.poll(() => page.getByTestId('project-list').innerText()).toMatch(/Demo: shapes under domain shift/)
    await expect.poll(() => page.getByTestId('backend').innerText(), { timeout: 60_000 }).toBe('Backend: wasm')
    expect(await page.getByTestId('device').innerText()).toMatch(/wasm/i)
    mkdirSync(SCREENSHOT_DIR, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'shell.png'), fullPage: true })
  })
})
