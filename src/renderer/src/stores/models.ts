import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DomainShiftReport, ModelSummary } from '@shared/types'
import { api } from '../api'
import { errMsg } from '../lib/format'

/** Checkpoints of the active project, the selected one, and its domain-shift reports. */
export const useModelsStore = defineStore('models', () => {
  const list = ref<ModelSummary[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const projectId = ref<number | null>(null)
  const selectedId = ref<number | null>(null)

  const importing = ref(false)
  const importError = ref<string | null>(null)

  const shift = ref<DomainShiftReport | null>(null)
  const shiftFor = ref<{ modelId: number; datasetId: number } | null>(null)
  const shiftLoading = ref(false)
  const shiftError = ref<string | null>(null)

  async function load(pid: number): Promise<void> {
    projectId.value = pid
    loading.value = true
    try {
      list.value = await api().call('models.list', { projectId: pid })
      error.value = null
      if (!list.value.some((m) => m.id === selectedId.value)) selectedId.value = list.value[0]?.id ?? null
    } catch (e) {
      error.value = errMsg(e)
    } finally {
      loading.value = false
    }
  }

  async function importCheckpoint(req: { path: string; name?: string; arch?: string }): Promise<ModelSummary | null> {
    if (projectId.value === null) {
      importError.value = 'No active project: pick one in the Projects view first.'
      return null
    }
    importing.value = true
    importError.value = null
    try {
      const m = await api().call('models.import', { projectId: projectId.value, ...req })
      await load(projectId.value)
      selectedId.value = m.id
      return m
    } catch (e) {
      importError.value = errMsg(e)
      return null
    } finally {
      importing.value = false
    }
  }

  async function measureShift(modelId: number, datasetId: number, split?: string, limit?: number): Promise<void> {
    shiftLoading.value = true
    shiftError.value = null
    shiftFor.value = { modelId, datasetId }
    shift.value = null
    try {
      const r = await api().call('models.shift', { modelId, datasetId, split, limit })
      if (shiftFor.value?.modelId === modelId && shiftFor.value.datasetId === datasetId) shift.value = r
    } catch (e) {
      shiftError.value = errMsg(e)
    } finally {
      shiftLoading.value = false
    }
  }

  return { list, loading, error, projectId, selectedId, importing, importError, shift, shiftFor, shiftLoading, shiftError, load, importCheckpoint, measureShift }
})
