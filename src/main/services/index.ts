/**
 * The API contract implemented once. Both transports (IPC in index.ts, HTTP in http/server.ts) call
 * these functions and nothing else; every request passes its schema first (validate.ts).
 */
import { ApiError } from '../../shared/api'
import type { AppStatus } from '../../shared/types'
import type { Db } from '../store/db'
import type { EngineEventSource, EnginePort, RunnerPort } from './ports'
import { EventHub } from './events'
import { ensureDemoProject, listProjects } from './projects'
import { demoExperiment } from './demo'
import { listDir } from './fsBrowse'
import { imageThumbnail, previewDataset, requireDataset, requireSplit } from './datasets'
import { importDatasetFingerprinted, openProject, registerDataset, registerExperimentCatalog, registerModel } from './catalog'
import { compareService, createExperimentService, listExperiments, probeHeadLrService } from './experiments'
import { getModel, listDatasets, listModels } from '../store/catalog'
import { engineInspect, importModelService } from './models'
import * as runs from '../store/runs'
import { getAnalysis } from '../store/analysis'
import { analyzeAndStore, galleryService, robustnessService } from './analysis'
import { runDoctor } from '../doctor'
import { reportService } from './report'
import { resolve } from 'node:path'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { validated, type Operations, type Services } from './validate'
import { queueOperations, type QueueContext } from './queue'

export type { Services } from './validate'

export interface ServiceContext {
  db: Db
  engine: EnginePort
  runner: RunnerPort
  events: EventHub
  dataDir: string
  mode: AppStatus['mode']
  version: string
  /** folders images may be served from besides dataset roots (the demo data) */
  imageRoots: string[]
  resourcesDir: string
  /** resolves when the demo's data and model are in place (start-up); demo.run waits for it */
  demoReady?: Promise<void>
  /** native folder dialog (Electron); absent in serve mode */
  pickFolder?: (title?: string) => Promise<string | null>
  /** the run queue on Redis this app uses (app.ts), null/absent: runs train here */
  queue?: QueueContext['queue']
}

/** The operations, behind the request schemas (validate.ts): each receives its request parsed and typed. */
export function createServices(ctx: ServiceContext): Services {
  const { db } = ctx
  const ops: Operations = {
    'app.status': async () => ({
      version: ctx.version,
      mode: ctx.mode,
      dataDir: ctx.dataDir,
      engine: { state: ctx.engine.state, backend: ctx.engine.backend, error: ctx.engine.error, pid: ctx.engine.pid },
      runningJob: ctx.runner.running,
    }),
    'app.doctor': async () => runDoctor(),
    'projects.list': async () => listProjects(db),
    'projects.ensure': async (req) => openProject(db, req.name),
    'fs.listDir': async (req) => listDir(req.path),
    'fs.pickFolder': async (req) => (ctx.pickFolder ? ctx.pickFolder(req.title) : null),

    'datasets.import': async (req) => importDatasetFingerprinted(db, req),
    'datasets.register': async (req) => registerDataset(db, req),
    'datasets.list': async (req) => listDatasets(db, req.projectId),
    'datasets.get': async (req) => requireDataset(db, req.id),
    'datasets.preview': async (req) => previewDataset(db, req),
    'images.get': async (req) => imageThumbnail(db, ctx.imageRoots, req),

    'models.import': async (req) => importModelService(db, engineInspect(ctx.engine), req),
    'models.register': async (req) => registerModel(db, engineInspect(ctx.engine), req),
    'models.list': async (req) => listModels(db, req.projectId),
    'models.shift': async (req) => {
      const model = getModel(db, req.modelId)
      if (!model) throw new ApiError('not_found', `model ${req.modelId} does not exist`)
      const ds = requireDataset(db, req.datasetId)
      // only one of the dataset's own splits (never a path); the engine reads the dataset root, confined to it
      const split = req.split === undefined ? undefined : requireSplit(ds, req.split)
      const report = await ctx.engine.request('model.shift', {
        modelPath: model.path,
        arch: model.arch,
        dataRoot: ds.root,
        split,
        limit: req.limit ?? 512,
        size: model.preprocessing.inputSize[0],
        normalize: model.preprocessing.normalize,
      })
      return { ...report, modelId: model.id }
    },

    'experiments.create': async (req) => {
      const out = createExperimentService(db, req.projectId, req.spec)
      ctx.runner.kick()
      return out
    },
    'demo.run': async (req) => {
      // the demo's images are drawn and registered once the engine is up: a click on a fresh store waits for them
      await ctx.demoReady?.catch(() => undefined)
      const projectId = ensureDemoProject(db)
      const out = createExperimentService(db, projectId, demoExperiment(ctx.dataDir, ctx.resourcesDir, { epochs: req.epochs }))
      ctx.runner.kick()
      return out
    },
    'experiments.list': async (req) => listExperiments(db, req.projectId),
    'experiments.find': async (req) => {
      const exp = runs.findExperiment(db, req.idOrName)
      return exp ? { id: exp.id, name: exp.name } : null
    },
    'experiments.registerCatalog': async (req) => registerExperimentCatalog(db, engineInspect(ctx.engine), req.projectId, req.spec),
    'experiments.compare': async (req) => compareService(db, req.experimentId),
    'experiments.probeHeadLr': async (req) => probeHeadLrService(ctx.engine, ctx.dataDir, req.spec, req.lrs),
    'experiments.report': async (req) => reportService(db, req.experimentId, ctx.version),

    'runs.list': async (req) => runs.listRuns(db, req.experimentId !== undefined ? { experimentId: req.experimentId } : {}),
    'runs.get': async (req) => {
      const runId = req.runId
      const [run] = runs.listRuns(db, { runId })
      if (!run) throw new ApiError('not_found', `run ${runId} does not exist`)
      return { run, epochs: runs.runEpochs(db, runId), losses: runs.runBatchLosses(db, runId, req.afterStep ?? -1) }
    },
    'runs.cancel': async (req) => ({ cancelled: await ctx.runner.cancel(req.runId) }),
    'runs.resume': async (req) => ({ resumed: ctx.runner.resume(req.runId) }),
    ...queueOperations(ctx),

    'runs.export': async (req) => {
      const runId = req.runId
      if (runs.getRunStatus(db, runId)?.status !== 'succeeded') throw new ApiError('not_finished', `run ${runId} has not finished; only finished runs export`)
      const out = resolve(req.out)
      const overwrite = req.overwrite === true
      // an existing path is refused unless asked to overwrite (an empty folder takes a TF.js export); the engine
      // checks again right before it renames the finished export into place
      if (!overwrite && existsSync(out) && !(req.format === 'tfjs' && statSync(out).isDirectory() && readdirSync(out).length === 0)) {
        throw new ApiError('exists', `${out} exists; pass overwrite (daft export --overwrite) to replace it`)
      }
      try {
        return await ctx.engine.request('run.export', { spec: runs.getRunSpec(db, runId), runDir: ctx.runner.runDir(runId), format: req.format, which: req.which ?? 'final', out, overwrite })
      } catch (e) {
        const message = (e as Error).message
        if (/ exists; pass overwrite| exists and is not a | holds no TF\.js model/.test(message)) throw new ApiError('exists', message)
        throw e
      }
    },
    'analysis.get': async (req) => getAnalysis(db, req.runId),
    'analysis.recompute': async (req) => analyzeAndStore(ctx, req.runId),
    'analysis.gallery': async (req) => galleryService(db, req.runId, req.set, req.k),
    'analysis.robustness': async (req) => robustnessService(ctx, req.runId, { recompute: !!req.recompute, limit: req.limit }),
  }
  return validated(ops)
}

/** Wires engine state changes and task progress into the event hub. */
export function forwardEngineEvents(engine: EngineEventSource, events: EventHub): void {
  engine.on('state', (state) => events.publish({ type: 'engine.state', state, backend: engine.backend, error: engine.error }))
  // the runs' events reach the hub through the runner (which records them first); a task's progress directly
  engine.on('event', (ev) => {
    if (ev.type === 'progress') events.publish({ type: 'task.progress', task: ev.task, done: ev.done, total: ev.total })
  })
}
