/**
 * Electron entry (thin): window with context isolation + sandbox, IPC transport over the shared
 * services, engine as a utilityProcess. Everything else lives in app.ts / services / engine.
 */
import { app, BrowserWindow, dialog, ipcMain, shell, utilityProcess, type IpcMainInvokeEvent } from 'electron'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { API_OPERATIONS, ApiError, type ApiErrorBody, type ApiEvent } from '../shared/api'
import { startApp, type App } from './app'
import type { EngineChannel, EngineMessage, EngineSpawner } from './engine/protocol'

const here = dirname(fileURLToPath(import.meta.url))
const rendererUrl = process.env.ELECTRON_RENDERER_URL // set by electron-vite dev
const rendererFile = join(here, '..', 'renderer', 'index.html')

const utilitySpawner: EngineSpawner = () => {
  const child = utilityProcess.fork(join(here, 'engine.js'), [], { serviceName: 'DAFT engine', stdio: 'inherit' })
  const ch: EngineChannel = {
    get pid() {
      return child.pid
    },
    send: (msg) => child.postMessage(msg),
    onMessage: (cb) => child.on('message', (m) => cb(m as EngineMessage)),
    onExit: (cb) => child.once('exit', (code) => cb(code)),
    kill: () => void child.kill(),
  }
  return ch
}

/** better-sqlite3 compiled for Electron's ABI by scripts/postinstall.mjs (dev checkouts only) */
function electronNativeBinding(): string | undefined {
  if (app.isPackaged) return undefined
  const p = join(here, '..', '..', '.electron-native', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
  return existsSync(p) ? p : undefined
}

function trustedSender(e: IpcMainInvokeEvent): boolean {
  const url = e.senderFrame?.url ?? ''
  if (rendererUrl) return url.startsWith(rendererUrl)
  return url.startsWith(pathToFileURL(rendererFile).href)
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'DAFT Workbench',
    webPreferences: {
      preload: join(here, '..', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  })
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (e) => e.preventDefault())
  if (rendererUrl) void win.loadURL(rendererUrl)
  else void win.loadFile(rendererFile)
  return win
}

function registerIpc(daft: App): void {
  for (const op of API_OPERATIONS) {
    ipcMain.handle(`daft:${op}`, async (e, req: unknown) => {
      if (!trustedSender(e)) throw new Error('untrusted sender')
      // the services parse the request with its schema (services/validate.ts); a refusal comes back as
      // { error: { code: 'bad_request', message, issues } } like every other ApiError
      try {
        return { result: await (daft.services[op] as (r: unknown) => Promise<unknown>)(req) }
      } catch (err) {
        const body: ApiErrorBody = { error: { code: err instanceof ApiError ? err.code : 'internal', message: (err as Error).message } }
        if (err instanceof ApiError && err.issues) body.error.issues = err.issues
        return body
      }
    })
  }
  daft.events.subscribe((ev: ApiEvent) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send('daft:event', ev)
  })
}

app.whenReady().then(() => {
  const daft = startApp({
    dataDir: app.getPath('userData'),
    mode: 'electron',
    spawner: utilitySpawner,
    nativeBinding: electronNativeBinding(),
    resourcesDir: app.isPackaged ? process.resourcesPath : join(here, '..', '..', 'resources'),
    pickFolder: async (title) => {
      const r = await dialog.showOpenDialog({ title: title ?? 'Choose a folder', properties: ['openDirectory'] })
      return r.canceled ? null : (r.filePaths[0] ?? null)
    },
  })
  registerIpc(daft)
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
  app.on('before-quit', () => void daft.close())
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
