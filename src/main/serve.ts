/**
 * `npm run serve`: the workbench as a local web app. Same renderer, same services, over HTTP on
 * 127.0.0.1 with a random access token. Options: --port N (default 5180; a free one if busy),
 * --data-dir DIR, --backend tensorflow|wasm|cpu.
 */
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startApp } from './app'
import { forkSpawner } from './jobs/forkSpawner'
import { createHttpServer, listenLoopback } from './http/server'
import { defaultDataDir } from './services/dataDir'
import type { BackendName } from '../shared/types'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.DAFT_PORT ?? '5180' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
    },
  })
  const here = dirname(fileURLToPath(import.meta.url))
  const dataDir = defaultDataDir(values['data-dir'])
  const app = startApp({
    dataDir,
    mode: 'serve',
    spawner: forkSpawner({ entry: join(here, 'engine.js') }),
    backend: values.backend as BackendName | undefined,
    resourcesDir: join(here, '..', '..', 'resources'),
  })
  const token = process.env.DAFT_TOKEN || randomBytes(24).toString('base64url')
  const server = createHttpServer({ services: app.services, events: app.events, staticDir: join(here, '..', 'renderer'), token })
  const port = await listenLoopback(server, Number(values.port))
  console.log(`DAFT Workbench (serve mode), data in ${dataDir}`)
  console.log(`Open: http://127.0.0.1:${port}/?token=${token}`)
  app.engineReady.then(
    () => console.log(`engine ready: ${app.engine.backend?.name} (${app.engine.backend?.device})`),
    (e) => console.error(`engine failed to start: ${(e as Error).message}`),
  )
  const shutdown = async (): Promise<void> => {
    server.close()
    await app.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
