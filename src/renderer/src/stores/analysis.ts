import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { RunSummary } from '@shared/experiments'
import type { Gallery, RobustnessReport, RunAnalysis } from '@shared/types'
import { api, onApiEvent } from '../api'
import { errMsg } from '../lib/format'

/**
 * Feature-distortion analysis of finished runs (Distortion, Galleries): fetched through `analysis.*`,
 * kept live by `analysis.state` events (the engine computes an analysis when a run succeeds).
 */
export type AnalysisState = 'loading' | 'missing' | 'running' | 'done' | 'failed'

export const useAnalysisStore = defineStore('analysis', () => {
  /** runs of the experiment the analysis views look at */
  const runs = ref<RunSummary[]>([])
  const runsError = ref<string | null>(null)
  const runsLoading = ref(false)

  const byRun = ref<Record<number, RunAnalysis>>({})
  const state = ref<Record<number, AnalysisState>>({})
  const error = ref<Record<number, string>>({})

  /** the experiment whose runs are asked for */
  let experiment: number | null = null
  /** the experiment whose runs `runs` holds (undefined: none loaded yet) */
  const runsOf = ref<number | null | undefined>(undefined)
  async function loadRuns(experimentId: number | null): Promise<void> {
    experiment = experimentId
    runsLoading.value = true
    try {
      const list = experimentId === null ? [] : await api().call('runs.list', { experimentId })
      if (experiment !== experimentId) return // another experiment was asked for meanwhile
      runs.value = list
      runsOf.value = experimentId
      runsError.value = null
    } catch (e) {
      if (experiment === experimentId) runsError.value = errMsg(e)
    } finally {
      if (experiment === experimentId) runsLoading.value = false
    }
  }

  /** Fetches the stored analysis of a run (null = not computed yet: 'missing', or 'running' if the engine said so). */
  async function load(runId: number, force = false): Promise<void> {
    if (!force && (byRun.value[runId] || state.value[runId] === 'loading')) return
    const wasRunning = state.value[runId] === 'running'
    state.value[runId] = 'loading'
    try {
      const a = await api().call('analysis.get', { runId })
      if (a) {
        byRun.value[runId] = a
        state.value[runId] = 'done'
      } else state.value[runId] = wasRunning ? 'running' : 'missing'
      delete error.value[runId]
    } catch (e) {
      state.value[runId] = 'failed'
      error.value[runId] = errMsg(e)
    }
  }

  /** Computes (again) in the engine: one feature pass per eval set before and after fine-tuning. */
  async function recompute(runId: number): Promise<void> {
    state.value[runId] = 'running'
    delete error.value[runId]
    try {
      byRun.value[runId] = await api().call('analysis.recompute', { runId })
      state.value[runId] = 'done'
    } catch (e) {
      state.value[runId] = 'failed'
      error.value[runId] = errMsg(e)
    }
  }

  // ---- galleries: key run|set|k
  const galleries = ref<Record<string, Gallery>>({})
  const galleryBusy = ref<Record<string, boolean>>({})
  const galleryError = ref<Record<string, string>>({})
  const galleryKey = (runId: number, set: string, k: number): string => `${runId}|${set}|${k}`
  async function loadGallery(runId: number, set: string, k: number): Promise<void> {
    const key = galleryKey(runId, set, k)
    if (galleries.value[key] || galleryBusy.value[key]) return
    galleryBusy.value[key] = true
    delete galleryError.value[key]
    try {
      galleries.value[key] = await api().call('analysis.gallery', { runId, set, k })
    } catch (e) {
      galleryError.value[key] = errMsg(e)
    } finally {
      galleryBusy.value[key] = false
    }
  }

  // ---- corruption robustness (slow: minutes)
  const robustness = ref<Record<number, RobustnessReport>>({})
  const robustBusy = ref<Record<number, number>>({})
  const robustError = ref<Record<number, string>>({})
  async function loadRobustness(runId: number, opts: { recompute?: boolean; limit?: number } = {}): Promise<void> {
    if (robustBusy.value[runId]) return
    robustBusy.value[runId] = Date.now()
    delete robustError.value[runId]
    try {
      robustness.value[runId] = await api().call('analysis.robustness', { runId, ...opts })
    } catch (e) {
      robustError.value[runId] = errMsg(e)
    } finally {
      delete robustBusy.value[runId]
    }
  }

  let reloadTimer: ReturnType<typeof setTimeout> | undefined
  function scheduleReload(): void {
    if (reloadTimer) return
    reloadTimer = setTimeout(() => {
      reloadTimer = undefined
      if (experiment !== null) void refreshRuns(experiment)
    }, 300)
  }
  /** lists the runs again without the loading state (the views keep showing what they show) */
  async function refreshRuns(experimentId: number): Promise<void> {
    try {
      const list = await api().call('runs.list', { experimentId })
      if (experiment === experimentId) runs.value = list
    } catch {
      // the next event or an explicit reload tries again
    }
  }

  let unsubscribe: (() => void) | undefined
  function connect(): void {
    if (unsubscribe) return
    unsubscribe = onApiEvent((ev) => {
      if (ev.type === 'analysis.state') {
        if (ev.state === 'running') state.value[ev.runId] = 'running'
        else if (ev.state === 'done') {
          // a recomputed analysis invalidates the galleries drawn from the old one
          for (const k of Object.keys(galleries.value)) if (k.startsWith(`${ev.runId}|`)) delete galleries.value[k]
          void load(ev.runId, true)
        } else {
          state.value[ev.runId] = 'failed'
          error.value[ev.runId] = ev.error ?? 'the analysis failed'
        }
      } else if (ev.type === 'run.state') {
        const r = runs.value.find((x) => x.id === ev.runId)
        if (r) r.status = ev.status
        // a run that ended has its results (the views choose their defaults from them, e.g. LP's OOD accuracy), and
        // a run not in the list may be new in this experiment (a sweep's next step): list them again, once per burst
        if (!r || (ev.status !== 'running' && ev.status !== 'queued')) scheduleReload()
      }
    })
  }

  return { runs, runsOf, runsError, runsLoading, byRun, state, error, loadRuns, load, recompute, galleries, galleryBusy, galleryError, galleryKey, loadGallery, robustness, robustBusy, robustError, loadRobustness, connect }
})
