/**
 * The API contract implemented once. Both transports (IPC in index.ts, HTTP in http/server.ts) call
 * these functions and nothing else.
 */
import type { OpName, Req, Res } from '../../shared/api'
import type { AppStatus } from '../../shared/types'
import type { Db } from '../store/db'
import type { EngineHost } from '../jobs/engineHost'
import { EventHub } from './events'
import { listProjects } from './projects'
import { listDir } from './fsBrowse'

export type Services = { [K in OpName]: (req: Req<K>) => Promise<Res<K>> }

export interface ServiceContext {
  db: Db
  engine: EngineHost
  events: EventHub
  dataDir: string
  mode: AppStatus['mode']
  version: string
  /** native folder dialog (Electron); absent in serve mode */
  pickFolder?: (title?: string) => Promise<string | null>
}

export function createServices(ctx: ServiceContext): Services {
  return {
    'app.status': async () => ({
      version: ctx.version,
      mode: ctx.mode,
      dataDir: ctx.dataDir,
      engine: { state: ctx.engine.state, backend: ctx.engine.backend, error: ctx.engine.error, pid: ctx.engine.pid },
      runningJob: null,
    }),
    'projects.list': async () => listProjects(ctx.db),
    'fs.listDir': async (req) => listDir(req.path),
    'fs.pickFolder': async (req) => (ctx.pickFolder ? ctx.pickFolder(req.title) : null),
  }
}

/** Wires engine state changes into the event hub. */
export function forwardEngineEvents(engine: EngineHost, events: EventHub): void {
  engine.on('state', (state) =>
    events.publish({ type: 'engine.state', state, backend: engine.backend, error: engine.error }),
  )
}
