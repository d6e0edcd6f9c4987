/** Starts the built serve-mode app (`node out/main/serve.js`) in a fresh data dir and reads its URL. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import { ROOT } from '../helpers/paths'

export interface ServedApp {
  /** the printed URL, `?token=` included */
  url: string
  origin: string
  token: string
  dataDir: string
  proc: ChildProcess
  output: () => string
  /** calls an operation the way the renderer does (Bearer token, JSON) and returns the status and body */
  call(op: string, body?: unknown): Promise<{ status: number; body: { result?: unknown; error?: { code: string; message: string } } }>
  stop(): Promise<void>
}

export async function startServedApp(opts: { args?: string[]; env?: Record<string, string> } = {}): Promise<ServedApp> {
  const entry = join(ROOT, 'out', 'main', 'serve.js')
  if (!existsSync(entry)) throw new Error(`${entry} missing: run \`npm run build\` first (npm test does it)`)
  const dataDir = mkdtempSync(join(tmpdir(), 'daft-e2e-data-'))
  const proc = spawn(process.execPath, [entry, '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  })
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (out += d))
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not print a URL in 60 s:\n${out}`)), 60_000)
    const check = (): void => {
      const m = out.match(/Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/)
      if (m) {
        clearTimeout(t)
        resolve(m[1])
      }
    }
    proc.stdout!.on('data', check)
    proc.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)))
  })
  const origin = new URL(url).origin
  const token = new URL(url).searchParams.get('token')!
  return {
    url,
    origin,
    token,
    dataDir,
    proc,
    output: () => out,
    async call(op, body = {}) {
      const r = await fetch(`${origin}/api/op/${op}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      return { status: r.status, body: (await r.json()) as { result?: unknown; error?: { code: string; message: string } } }
    },
    async stop() {
      if (proc.exitCode === null) {
        await new Promise<void>((r) => {
          proc.once('exit', () => r())
          proc.kill('SIGTERM')
        })
      }
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Debian's chromium with a fresh user-data-dir (Playwright takes it as launchPersistentContext's first argument). */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'daft-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 860 },
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'e2e')
