/**
 * Start-up shared by both front doors (Electron and serve mode) and the tests: open the store, make sure
 * the demo project exists, start the engine process, create the services.
 */
import type { AppStatus, BackendName } from '../shared/types'
import { openStore, type Db } from './store/db'
import { EngineHost } from './jobs/engineHost'
import type { EngineSpawner } from './engine/protocol'
import { EventHub } from './services/events'
import { createServices, forwardEngineEvents, type Services, type ServiceContext } from './services'
import { ensureDemoProject } from './services/projects'
import pkg from '../../package.json'

export interface AppOptions {
  dataDir: string
  mode: AppStatus['mode']
  spawner: EngineSpawner
  backend?: BackendName
  nativeBinding?: string
  pickFolder?: ServiceContext['pickFolder']
}

export interface App {
  db: Db
  engine: EngineHost
  events: EventHub
  services: Services
  /** resolves when the engine is ready (or rejects with why it is not) */
  engineReady: Promise<unknown>
  close(): Promise<void>
}

export function startApp(opts: AppOptions): App {
  const db = openStore(opts.dataDir, { nativeBinding: opts.nativeBinding })
  ensureDemoProject(db)
  const events = new EventHub()
  const backend = opts.backend ?? (process.env.DAFT_BACKEND as BackendName | undefined)
  const engine = new EngineHost(opts.spawner, { backend })
  forwardEngineEvents(engine, events)
  const engineReady = engine.start()
  engineReady.catch(() => undefined) // state 'error' is reported through app.status
  const services = createServices({
    db,
    engine,
    events,
    dataDir: opts.dataDir,
    mode: opts.mode,
    version: pkg.version,
    pickFolder: opts.pickFolder,
  })
  return {
    db,
    engine,
    events,
    services,
    engineReady,
    async close() {
      await engine.stop()
      db.close()
    },
  }
}
