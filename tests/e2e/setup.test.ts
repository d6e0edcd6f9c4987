/** The Setup panel (app.doctor in the app), opened from the status bar; the demo project's card counts. */
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

describe('Setup panel', () => {
  it('the demo card counts what the demo has from the first page load', async () => {
    const page = await browser.context.newPage()
    await page.goto(app.url)
    await page.getByTestId('project-list').waitFor()
    const card = await page.getByTestId('project-list').innerText()
    expect(card).toContain('4 datasets · 1 model · 0 experiments')
    expect(card).toContain("the 'source' style the demo CNN was pretrained on and the shifted target styles 'color', 'texture', 'stroke'")
    expect(card).not.toContain('background')
    await page.close()
  })

  it('opens from the status bar: the backend in use and every check with its fix', async () => {
    const page = await browser.context.newPage()
    await page.goto(app.url)
    await page.getByTestId('open-setup').click()
    await page.getByTestId('setup-item-native').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('setup-backend').innerText()).toMatch(/^Tensor backend: wasm — CPU \(wasm SIMD, 1 thread\) \+ native kernels/)
    const gpu = await page.getByTestId('setup-item-tfjs-node-gpu').innerText()
    expect(gpu).toMatch(/^missing/)
    expect(gpu).toContain('not installed: no ')
    expect(gpu).toContain('npm install --foreground-scripts --save-optional --save-exact @tensorflow/tfjs-node-gpu@4.22.0')
    expect(await page.getByTestId('setup-item-wasm').innerText()).toMatch(/^ok\s+@tensorflow\/tfjs-backend-wasm \(XNNPACK, SIMD\): loads: SIMD on/)
    expect(await page.getByTestId('setup-item-electron').innerText()).toContain('node node_modules/electron/install.js')
    mkdirSync(SCREENSHOT_DIR, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'setup.png') })
    // Escape closes it
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('setup-panel').count()).toBe(0)
    await page.close()
  })
})
