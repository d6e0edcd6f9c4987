/**
 * Start-up shared by both front doors (Electron and serve mode), the CLI and the tests: open the store, make sure
 * the demo project exists, start the engine process (at once, or with `lazyEngine` when first needed), create the
 * services. This is the one place that wires jobs/ (engine host, runner) into the services' ports.
 */
import type { AppStatus, BackendName } from '../shared/types'
import { openStore, type Db } from './store/db'
import { EngineHost } from './jobs/engineHost'
import type { EngineOpName, EngineOps, EngineSpawner } from './engine/protocol'
import type { EnginePort } from './services/ports'
import { EventHub } from './services/events'
import { createServices, forwardEngineEvents, type Services, type ServiceContext } from './services'
import { ensureDemoProject } from './services/projects'
import { JobRunner } from './jobs/runner'
import { RemoteRunner } from './jobs/queue/remoteRunner'
import { queueConfig, type QueueConfig } from './jobs/queue/config'
import type { RunnerPort } from './services/ports'
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
  /**
   * Start the engine process only when something needs it: an engine operation, a run to execute, reading
   * engineReady or demoReady (the CLI: `daft runs`, `compare`, `cancel`, `report` and the catalog lists never spawn
   * it). The queue is not picked up at start-up either: runs start when asked (experiments.create, runs.resume,
   * demo.run, idle()).
   */
  lazyEngine?: boolean
  /**
   * Queue runs on Redis for `daft worker`s (jobs/queue/): redis://HOST:PORT; default $DAFT_REDIS, else the store's
   * setting; '' = the local runner.
   */
  redis?: string
  /** the folder the workers and this app share (run folders); default $DAFT_SHARED, else the setting, else <dataDir>/shared */
  shared?: string
}

export interface App {
  db: Db
  engine: EngineHost
  /** the local JobRunner, or the RemoteRunner when a queue is configured (`queue`) */
  runner: RunnerPort
  queue: QueueConfig | null
  events: EventHub
  services: Services
  /** resolves when the engine is ready (or rejects with why it is not); with lazyEngine, reading it starts the engine */
  readonly engineReady: Promise<unknown>
  /** resolves when the demo datasets and model are registered; with lazyEngine, reading it starts the set-up */
  readonly demoReady: Promise<void>
  /**
   * Works through the run queue and resolves when it is empty and nothing runs in this process (the runner's
   * idle(), which kicks the queue itself: no kick or pause is needed before it).
   */
  idle(): Promise<void>
  close(): Promise<void>
}

export function startApp(opts: AppOptions): App {
  const db = openStore(opts.dataDir, { nativeBinding: opts.nativeBinding })
  ensureDemoProject(db)
  const queue = queueConfig(db, { redis: opts.redis, shared: opts.shared, dataDir: opts.dataDir })
  // runs left 'running' by a process that died become 'interrupted' (resumable); workers' runs are read back from the queue
  recoverInterrupted(db, undefined, { keepRemote: queue !== null })
  const events = new EventHub()
  const backend = opts.backend ?? (process.env.DAFT_BACKEND as BackendName | undefined)
  const engine = new EngineHost(opts.spawner, { backend })
  forwardEngineEvents(engine, events)
  let engineStart: Promise<unknown> | undefined
  const startEngine = (): Promise<unknown> => {
    if (!engineStart) {
      engineStart = engine.start()
      engineStart.catch(() => undefined) // state 'error' is reported through app.status
    }
    return engineStart
  }
  const afterRun = async (runId: number): Promise<void> => {
    const row = runExperimentStatus(db, runId)
    if (!row) return
    if (row.status === 'succeeded' && !opts.skipAnalysis) {
      await analyzeAndStore({ db, engine, events, dataDir: opts.dataDir }, runId).catch((e) => console.error(`analysis of run ${runId} failed: ${(e as Error).message}`))
    }
    if (advanceSweep(db, row.experimentId).length) runner.kick()
  }
  const runner: RunnerPort = queue
    ? new RemoteRunner(db, events, { redis: queue.redis, sharedDir: queue.shared, dataDir: opts.dataDir, afterRun })
    : new JobRunner(db, engine, events, { dataDir: opts.dataDir, afterRun })
  let demo: Promise<void> | undefined
  const setUpDemo = (): Promise<void> => {
    if (!demo) {
      demo = startEngine().then(async () => {
        if (!opts.skipDemo) await ensureDemoAssets(db, engine, opts.dataDir, opts.resourcesDir)
        // runs queued before this start go on; a lazy app waits until a run is asked for
        if (!opts.lazyEngine) runner.kick()
      })
      // (a lazy app's demo set-up is asked for by someone, who reports its failure)
      if (!opts.lazyEngine) demo.catch((e) => console.error(`demo set-up failed: ${(e as Error).message}`))
    }
    return demo
  }
  if (!opts.lazyEngine) void setUpDemo()
  // workers' runs do not wait for this app's engine (it may not start here at all): read back and queue at once
  if (queue && !opts.lazyEngine) runner.kick()
  const services = createServices({
    db,
    engine: opts.lazyEngine ? lazyEngine(engine, startEngine) : engine,
    runner,
    get demoReady() {
      return setUpDemo()
    },
    imageRoots: [demoDataDir(opts.dataDir)],
    resourcesDir: opts.resourcesDir,
    events,
    dataDir: opts.dataDir,
    mode: opts.mode,
    version: pkg.version,
    pickFolder: opts.pickFolder,
    queue,
  })
  return {
    db,
    engine,
    runner,
    queue,
    events,
    services,
    get engineReady() {
      return startEngine()
    },
    get demoReady() {
      return setUpDemo()
    },
    idle: () => runner.idle(),
    async close() {
      await runner.close?.()
      await engine.stop()
      db.close()
    },
  }
}

/** The engine as the services see it when it starts on first use: a request starts it (once) and then goes in. */
function lazyEngine(engine: EngineHost, start: () => Promise<unknown>): EnginePort {
  return {
    get state() {
      return engine.state
    },
    get backend() {
      return engine.backend
    },
    get error() {
      return engine.error
    },
    get pid() {
      return engine.pid
    },
    request: <K extends EngineOpName>(op: K, payload: EngineOps[K]['req']) => start().then(() => engine.request(op, payload)),
  }
}
