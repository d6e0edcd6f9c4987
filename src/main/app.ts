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
import { JobRunner } from './jobs/runner'
import { recoverInterrupted, runExperimentStatus } from './store/runs'
import { advanceSweep } from './services/experiments'
import { demoDataDir, ensureDemoAssets } from './services/demo'
import { analyzeAndStore } from './services/analysis'
import pkg from '../../package.json'

export interface AppOptions {
  dataDir: string
  mode: AppStatus['mode']
  spawner: EngineSpawner
  backend?: BackendName
  nativeBinding?: string
  pickFolder?: ServiceContext['pickFolder']
  /** folder holding demo/ (the demo model); defaults to the project's resources/ */
  resourcesDir: string
  /** skip generating/registering the demo assets (tests that do not need them) */
  skipDemo?: boolean
  /** do not analyse runs automatically when they finish (analysis.recompute still works) */
  skipAnalysis?: boolean
}

export interface App {
  db: Db
  engine: EngineHost
  runner: JobRunner
  events: EventHub
  services: Services
  /** resolves when the engine is ready (or rejects with why it is not) */
  engineReady: Promise<unknown>
  /** resolves when the demo datasets and model are registered */
  demoReady: Promise<void>
  close(): Promise<void>
}

export function startApp(opts: AppOptions): App {
  const db = openStore(opts.dataDir, { nativeBinding: opts.nativeBinding })
  ensureDemoProject(db)
  // runs left 'running' by a process that died become 'interrupted' (resumable)
  recoverInterrupted(db)
  const events = new EventHub()
  const backend = opts.backend ?? (process.env.DAFT_BACKEND as BackendName | undefined)
  const engine = new EngineHost(opts.spawner, { backend })
  forwardEngineEvents(engine, events)
  const engineReady = engine.start()
  engineReady.catch(() => undefined) // state 'error' is reported through app.status
  const runner = new JobRunner(db, engine, events, {
    dataDir: opts.dataDir,
    afterRun: async (runId) => {
      const row = runExperimentStatus(db, runId)
      if (!row) return
      if (row.status === 'succeeded' && !opts.skipAnalysis) {
        await analyzeAndStore({ db, engine, events, dataDir: opts.dataDir }, runId).catch((e) => console.error(`analysis of run ${runId} failed: ${(e as Error).message}`))
      }
      if (advanceSweep(db, row.experimentId).length) runner.kick()
    },
  })
  const demoReady = engineReady.then(async () => {
    if (!opts.skipDemo) await ensureDemoAssets(db, engine, opts.dataDir, opts.resourcesDir)
    runner.kick()
  })
  demoReady.catch((e) => console.error(`demo set-up failed: ${(e as Error).message}`))
  const services = createServices({
    db,
    engine,
    runner,
    demoReady,
    imageRoots: [demoDataDir(opts.dataDir)],
    resourcesDir: opts.resourcesDir,
    events,
    dataDir: opts.dataDir,
    mode: opts.mode,
    version: pkg.version,
    pickFolder: opts.pickFolder,
  })
  return {
    db,
    engine,
    runner,
    events,
    services,
    engineReady,
    demoReady,
    async close() {
      await engine.stop()
      db.close()
    },
  }
}
