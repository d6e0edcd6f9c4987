import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { EpochMetrics, RunSummary } from '@shared/experiments'
import { api, onApiEvent } from '../api'
import { errMsg } from '../lib/format'
import { medianThroughput } from '../lib/estimate'
import { updateProgress, type RunProgress } from '../lib/progress'

export interface LossPoint {
  step: number
  epoch: number
  loss: number
}

const THROUGHPUT_KEY = 'daft.throughput'
const REFRESH_MS = 1000

function loadSamples(): number[] {
  try {
    const v = JSON.parse(localStorage.getItem(THROUGHPUT_KEY) ?? '[]') as unknown
    return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []
  } catch {
    return []
  }
}

/** The run queue, live progress from events, and the selected run's curves (fetched incrementally). */
export const useRunsStore = defineStore('runs', () => {
  const list = ref<RunSummary[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const experimentId = ref<number | undefined>(undefined)

  const progress = ref<Record<number, RunProgress>>({})
  const stage = ref<Record<number, string>>({})

  const selectedId = ref<number | null>(null)
  const run = ref<RunSummary | null>(null)
  const epochs = shallowRef<EpochMetrics[]>([])
  const losses = shallowRef<LossPoint[]>([])
  const detailError = ref<string | null>(null)
  const detailLoading = ref(false)
  const actionError = ref<string | null>(null)

  /** measured training throughput (images/s) of recent epochs, kept across sessions for estimates */
  const throughputSamples = ref<number[]>(loadSamples())

  async function load(expId?: number): Promise<void> {
    experimentId.value = expId
    loading.value = true
    try {
      list.value = await api().call('runs.list', expId === undefined ? {} : { experimentId: expId })
      error.value = null
    } catch (e) {
      error.value = errMsg(e)
    } finally {
      loading.value = false
    }
  }

  // ---- selected run: full fetch on select, then incremental (afterStep) fetches, throttled
  let lastStep = -1
  let inflight = false
  let dirty = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastFetch = 0

  async function fetchDetail(full: boolean): Promise<void> {
    const id = selectedId.value
    if (id === null) return
    if (inflight) {
      dirty = true
      return
    }
    inflight = true
    lastFetch = Date.now()
    try {
      const r = await api().call('runs.get', full ? { runId: id } : { runId: id, afterStep: lastStep })
      if (selectedId.value !== id) return
      run.value = r.run
      epochs.value = r.epochs
      const fresh = full ? r.losses : r.losses.filter((l) => l.step > lastStep)
      if (full) losses.value = fresh
      else if (fresh.length) losses.value = [...losses.value, ...fresh]
      if (fresh.length) lastStep = fresh[fresh.length - 1].step
      detailError.value = null
      const i = list.value.findIndex((x) => x.id === id)
      if (i >= 0) list.value[i] = r.run
    } catch (e) {
      detailError.value = errMsg(e)
    } finally {
      inflight = false
      detailLoading.value = false
      if (dirty) {
        dirty = false
        scheduleRefresh()
      }
    }
  }

  function scheduleRefresh(): void {
    if (timer) return
    timer = setTimeout(() => {
      timer = undefined
      void fetchDetail(false)
    }, Math.max(0, REFRESH_MS - (Date.now() - lastFetch)))
  }

  async function select(id: number | null): Promise<void> {
    selectedId.value = id
    run.value = null
    epochs.value = []
    losses.value = []
    lastStep = -1
    if (id === null) return
    detailLoading.value = true
    await fetchDetail(true)
  }

  // ---- list refresh after state changes (throttled too)
  let listTimer: ReturnType<typeof setTimeout> | undefined
  function scheduleListReload(): void {
    if (listTimer) return
    listTimer = setTimeout(() => {
      listTimer = undefined
      void load(experimentId.value)
    }, REFRESH_MS)
  }

  function recordThroughput(ips: number): void {
    if (!(ips > 0)) return
    throughputSamples.value = [...throughputSamples.value, ips].slice(-20)
    try {
      localStorage.setItem(THROUGHPUT_KEY, JSON.stringify(throughputSamples.value))
    } catch {
      /* storage full or disabled: estimates fall back to this session */
    }
  }

  let unsubscribe: (() => void) | undefined
  function connect(): void {
    if (unsubscribe) return
    unsubscribe = onApiEvent((ev) => {
      switch (ev.type) {
        case 'run.batch':
          progress.value[ev.runId] = updateProgress(progress.value[ev.runId], ev, Date.now())
          if (ev.runId === selectedId.value) scheduleRefresh()
          break
        case 'run.epoch': {
          const p = progress.value[ev.runId]
          if (p) recordThroughput(p.imagesPerSec)
          if (ev.runId === selectedId.value) scheduleRefresh()
          scheduleListReload()
          break
        }
        case 'run.stage':
          stage.value[ev.runId] = ev.stage
          break
        case 'run.state': {
          const r = list.value.find((x) => x.id === ev.runId)
          if (r) r.status = ev.status
          if (ev.status !== 'running') delete progress.value[ev.runId]
          if (ev.runId === selectedId.value) scheduleRefresh()
          scheduleListReload()
          break
        }
      }
    })
  }

  async function cancel(runId: number): Promise<void> {
    actionError.value = null
    try {
      const r = await api().call('runs.cancel', { runId })
      if (!r.cancelled) actionError.value = `Run #${runId} could not be cancelled (it may have finished already).`
    } catch (e) {
      actionError.value = errMsg(e)
    }
    await load(experimentId.value)
  }

  async function resume(runId: number): Promise<void> {
    actionError.value = null
    try {
      const r = await api().call('runs.resume', { runId })
      if (!r.resumed) actionError.value = `Run #${runId} could not be resumed (only cancelled, failed or interrupted runs can).`
    } catch (e) {
      actionError.value = errMsg(e)
    }
    await load(experimentId.value)
  }

  /** Images/s for estimates: measured by the runs seen (median of recent epochs), null when none. */
  function throughput(): number | null {
    return medianThroughput(throughputSamples.value)
  }

  return { list, loading, error, experimentId, progress, stage, selectedId, run, epochs, losses, detailError, detailLoading, actionError, throughputSamples, load, select, connect, cancel, resume, throughput, recordThroughput }
})
