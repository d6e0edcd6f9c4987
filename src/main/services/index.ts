/**
 * The API contract implemented once. Both transports (IPC in index.ts, HTTP in http/server.ts) call
 * these functions and nothing else.
 */
import { ApiError, type OpName, type Req, type Res } from '../../shared/api'
import type { AppStatus } from '../../shared/types'
import type { Db } from '../store/db'
import type { EngineHost } from '../jobs/engineHost'
import type { JobRunner } from '../jobs/runner'
import { EventHub } from './events'
import { ensureDemoProject, listProjects } from './projects'
import { demoExperiment } from './demo'
import { listDir } from './fsBrowse'
import { imageThumbnail, previewDataset, requireDataset, requireSplit } from './datasets'
import { importDatasetFingerprinted } from './catalog'
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

export type Services = { [K in OpName]: (req: Req<K>) => Promise<Res<K>> }

export interface ServiceContext {
  db: Db
  engine: EngineHost
  runner: JobRunner
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
}

function int(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError('bad_request', `${name}: expected an integer id`)
  return v
}

export function createServices(ctx: ServiceContext): Services {
  const { db } = ctx
  return {
    'app.status': async () => ({
      version: ctx.version,
      mode: ctx.mode,
      dataDir: ctx.dataDir,
      engine: { state: ctx.engine.state, backend: ctx.engine.backend, error: ctx.engine.error, pid: ctx.engine.pid },
      runningJob: ctx.runner.running,
    }),
    'app.doctor': async () => runDoctor(),
    'projects.list': async () => listProjects(db),
    'fs.listDir': async (req) => listDir(req.path),
    'fs.pickFolder': async (req) => (ctx.pickFolder ? ctx.pickFolder(req.title) : null),

    'datasets.import': async (req) => importDatasetFingerprinted(db, { ...req, projectId: int(req.projectId, 'projectId') }),
    'datasets.list': async (req) => listDatasets(db, int(req.projectId, 'projectId')),
    'datasets.get': async (req) => requireDataset(db, int(req.id, 'id')),
    'datasets.preview': async (req) => previewDataset(db, { id: int(req.id, 'id'), split: req.split, perClass: req.perClass }),
    'images.get': async (req) => imageThumbnail(db, ctx.imageRoots, req),

    'models.import': async (req) => importModelService(db, engineInspect(ctx.engine), { ...req, projectId: int(req.projectId, 'projectId') }),
    'models.list': async (req) => listModels(db, int(req.projectId, 'projectId')),
    'models.shift': async (req) => {
      const model = getModel(db, int(req.modelId, 'modelId'))
      if (!model) throw new ApiError('not_found', `model ${req.modelId} does not exist`)
      const ds = requireDataset(db, int(req.datasetId, 'datasetId'))
      // only one of the dataset's own splits (never a path); the engine reads the dataset root, confined to it
      const split = req.split === undefined ? undefined : requireSplit(ds, req.split)
      if (req.limit !== undefined && (typeof req.limit !== 'number' || !Number.isInteger(req.limit) || req.limit < 1)) {
        throw new ApiError('bad_request', `limit: a positive integer number of images (got ${String(JSON.stringify(req.limit) ?? req.limit).slice(0, 80)})`)
      }
      const report = await ctx.engine.request('model.shift', {
        modelPath: model.path,
        arch: model.arch,
        dataRoot: ds.root,
        split,
        limit: req.limit ?? 512,
        size: model.preprocessing.inputSize[0],
        normalize: model.preprocessing.normalize as never,
      })
      return { ...report, modelId: model.id }
    },

    'experiments.create': async (req) => {
      const out = createExperimentService(db, int(req.projectId, 'projectId'), req.spec)
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
    'experiments.list': async (req) => listExperiments(db, int(req.projectId, 'projectId')),
    'experiments.compare': async (req) => compareService(db, int(req.experimentId, 'experimentId')),
    'experiments.probeHeadLr': async (req) => probeHeadLrService(ctx.engine, ctx.dataDir, req.spec),
    'experiments.report': async (req) => reportService(db, int(req.experimentId, 'experimentId'), ctx.version),

    'runs.list': async (req) => runs.listRuns(db, req.experimentId !== undefined ? { experimentId: int(req.experimentId, 'experimentId') } : {}),
    'runs.get': async (req) => {
      const runId = int(req.runId, 'runId')
      const [run] = runs.listRuns(db, { runId })
      if (!run) throw new ApiError('not_found', `run ${runId} does not exist`)
      return { run, epochs: runs.runEpochs(db, runId), losses: runs.runBatchLosses(db, runId, req.afterStep ?? -1) }
    },
    'runs.cancel': async (req) => ({ cancelled: await ctx.runner.cancel(int(req.runId, 'runId')) }),
    'runs.resume': async (req) => ({ resumed: ctx.runner.resume(int(req.runId, 'runId')) }),

    'runs.export': async (req) => {
      const runId = int(req.runId, 'runId')
      if (runs.getRunStatus(db, runId)?.status !== 'succeeded') throw new ApiError('not_finished', `run ${runId} has not finished; only finished runs export`)
      if (req.format !== 'safetensors' && req.format !== 'tfjs') throw new ApiError('bad_request', `format: safetensors or tfjs (got ${String(req.format)})`)
      if (typeof req.out !== 'string' || !req.out) throw new ApiError('bad_request', 'out: the output path is required')
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
    'analysis.get': async (req) => getAnalysis(db, int(req.runId, 'runId')),
    'analysis.recompute': async (req) => analyzeAndStore(ctx, int(req.runId, 'runId')),
    'analysis.gallery': async (req) => galleryService(db, int(req.runId, 'runId'), String(req.set), req.k),
    'analysis.robustness': async (req) => robustnessService(ctx, int(req.runId, 'runId'), { recompute: !!req.recompute, limit: req.limit }),
  }
}

/** Wires engine state changes into the event hub. */
export function forwardEngineEvents(engine: EngineHost, events: EventHub): void {
  engine.on('state', (state) => events.publish({ type: 'engine.state', state, backend: engine.backend, error: engine.error }))
}
