/** Analysis services: compute (engine), store, and read feature-distortion results of finished runs. */
import { join } from 'node:path'
import { ApiError } from '../../shared/api'
import type { Gallery, RobustnessReport, RunAnalysis } from '../../shared/types'
import type { Db } from '../store/db'
import type { EnginePort } from './ports'
import type { EventHub } from './events'
import * as runs from '../store/runs'
import * as store from '../store/analysis'
import { runDirOf } from '../dataDir'
import { recordedRunDir } from '../store/remoteRuns'

export interface AnalysisContext {
  db: Db
  engine: EnginePort
  events: EventHub
  dataDir: string
}


function requireFinished(db: Db, runId: number): void {
  const st = runs.getRunStatus(db, runId)
  if (!st) throw new ApiError('not_found', `run ${runId} does not exist`)
  if (st.status !== 'succeeded') throw new ApiError('not_finished', `run ${runId} is ${st.status}: analysis needs a run that finished`)
}

/** Runs the engine analysis of a finished run and stores it (summary + per-image rows). */
export async function analyzeAndStore(ctx: AnalysisContext, runId: number): Promise<RunAnalysis> {
  requireFinished(ctx.db, runId)
  ctx.events.publish({ type: 'analysis.state', runId, state: 'running' })
  try {
    const r = await ctx.engine.request('run.analyze', { runId, spec: runs.getRunSpec(ctx.db, runId), runDir: recordedRunDir(ctx.db, runId) ?? runDirOf(ctx.dataDir, runId), cacheDir: join(ctx.dataDir, 'cache') })
    store.saveAnalysis(ctx.db, runId, { ...r.analysis, classes: r.classes }, r.images)
    ctx.events.publish({ type: 'analysis.state', runId, state: 'done' })
    return store.getAnalysis(ctx.db, runId)!
  } catch (e) {
    ctx.events.publish({ type: 'analysis.state', runId, state: 'failed', error: (e as Error).message })
    throw e
  }
}

export function galleryService(db: Db, runId: number, set: string, k = 8): Gallery {
  requireFinished(db, runId)
  const spec = runs.getRunSpec(db, runId)
  const a = store.getAnalysis(db, runId)
  if (!a) throw new ApiError('no_analysis', `run ${runId} has not been analysed yet`)
  if (!a.sets.some((s) => s.set === set)) throw new ApiError('bad_request', `run ${runId} has no eval set '${set}' (sets: ${a.sets.map((s) => s.set).join(', ')})`)
  const classes = a.classes ?? spec.data.classes ?? []
  return store.gallery(db, runId, set, classes, Math.max(1, Math.min(64, Math.floor(k))))
}


export async function robustnessService(ctx: AnalysisContext, runId: number, opts: { recompute?: boolean; limit?: number }): Promise<RobustnessReport> {
  requireFinished(ctx.db, runId)
  const have = store.getRobustness(ctx.db, runId)
  if (have && !opts.recompute) return have
  const r = await ctx.engine.request('run.robustness', { runId, spec: runs.getRunSpec(ctx.db, runId), runDir: recordedRunDir(ctx.db, runId) ?? runDirOf(ctx.dataDir, runId), limit: opts.limit })
  store.saveRobustness(ctx.db, runId, r)
  return r
}
