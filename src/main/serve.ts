/**
 * `npm run serve`: the workbench as a local web app. Same renderer, same services, over HTTP on
 * 127.0.0.1 with a random access token. Options: --port N (default 5180, or $DAFT_PORT; a busy port is
 * an error, 0 = any free port), --data-dir DIR, --backend tensorflow|wasm|cpu, --redis URL and --shared DIR (runs
 * queued on Redis for `daft worker`s; default $DAFT_REDIS / $DAFT_SHARED, else the app's settings). $DAFT_TOKEN sets the token
 * (at least 32 characters of A-Z a-z 0-9 - _ . ~); otherwise 32 random bytes, base64url.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startApp } from './app'
import { forkSpawner } from './jobs/forkSpawner'
import { createLoopbackServer, listenLoopback, PortInUseError, serveApi } from './http/server'
import { generateToken, tokenProblem } from './http/security'
import { defaultDataDir } from './dataDir'
import type { BackendName } from '../shared/types'

/** Refuses to start: the message and exit code 2 (bad usage) or 1 (environment, e.g. a busy port). */
class StartError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message)
  }
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) throw new StartError(`--port ${text}: expected a port number 0-65535 (0 = any free port)`)
  return port
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.DAFT_PORT ?? '5180' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      // the run queue on Redis for `daft worker`s (default $DAFT_REDIS / $DAFT_SHARED, else the Settings)
      redis: { type: 'string' },
      shared: { type: 'string' },
    },
  })
  const requested = parsePort(values.port!)
  const chosen = process.env.DAFT_TOKEN || undefined // empty = unset
  if (chosen !== undefined) {
    const problem = tokenProblem(chosen)
    if (problem) throw new StartError(`DAFT_TOKEN refused: ${problem}. Unset it to get a random token.`)
  }
  const token = chosen ?? generateToken()

  // bind first: a busy port must stop us before the store is opened or the engine started
  const server = createLoopbackServer()
  const port = await listenLoopback(server, requested).catch((e: unknown) => {
    if (e instanceof PortInUseError) {
      throw new StartError(
        `port ${requested} on 127.0.0.1 is in use (another workbench, or another program). Serve mode does not move to ` +
          'another port, so the URL you open reaches this server only: stop the other program, pass --port N, or --port 0 for any free port.',
        1,
      )
    }
    throw e
  })

  const here = dirname(fileURLToPath(import.meta.url))
  const dataDir = defaultDataDir(values['data-dir'])
  const app = startApp({
    dataDir,
    mode: 'serve',
    spawner: forkSpawner({ entry: join(here, 'engine.js') }),
    backend: values.backend as BackendName | undefined,
    resourcesDir: join(here, '..', '..', 'resources'),
    redis: values.redis,
    shared: values.shared,
  })
  if (app.queue) console.log(`runs are queued on ${app.queue.redis} for daft workers (shared folder ${app.queue.shared})`)
  serveApi(server, { services: app.services, events: app.events, staticDir: join(here, '..', 'renderer'), token })

  // Serving from here on: a failure belongs to one request or one background task. The state lives in
  // SQLite (transactions) and the engine process, so log and keep serving; exiting would interrupt a run.
  process.on('unhandledRejection', (reason) => console.error('serve: unhandled rejection (still serving):', reason))
  process.on('uncaughtException', (err, origin) => console.error(`serve: uncaught exception from ${origin} (still serving):`, err))

  console.log(`DAFT Workbench (serve mode), data in ${dataDir}`)
  console.log(`Open: http://127.0.0.1:${port}/?token=${token}`)
  app.engineReady.then(
    () => console.log(`engine ready: ${app.engine.backend?.name} (${app.engine.backend?.device})`),
    (e) => console.error(`engine failed to start: ${(e as Error).message}`),
  )
  let stopping = false
  const shutdown = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    server.close()
    server.closeAllConnections() // event streams stay open otherwise
    await app.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
}

main().catch((e: unknown) => {
  if (e instanceof StartError) {
    console.error(`daft serve: ${e.message}`)
    process.exit(e.exitCode)
  }
  console.error(e)
  process.exit(1)
})
