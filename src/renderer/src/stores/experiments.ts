import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ExperimentSpec } from '@shared/experiments'
import type { ComparisonTable } from '@shared/types'
import { api } from '../api'
import { errMsg } from '../lib/format'

export interface ExperimentItem {
  id: number
  name: string
  createdAt: string
  runs: number
}

/** Experiments of the active project, creation, and the Table 2-style comparison. */
export const useExperimentsStore = defineStore('experiments', () => {
  const list = ref<ExperimentItem[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const projectId = ref<number | null>(null)

  const creating = ref(false)
  const createError = ref<string | null>(null)

  const comparison = ref<ComparisonTable | null>(null)
  const compareLoading = ref(false)
  const compareError = ref<string | null>(null)

  async function load(pid: number): Promise<void> {
    projectId.value = pid
    loading.value = true
    try {
      list.value = await api().call('experiments.list', { projectId: pid })
      error.value = null
    } catch (e) {
      error.value = errMsg(e)
    } finally {
      loading.value = false
    }
  }

  async function create(spec: ExperimentSpec): Promise<{ experimentId: number; runIds: number[] } | null> {
    if (projectId.value === null) {
      createError.value = 'No active project: pick one in the Projects view first.'
      return null
    }
    creating.value = true
    createError.value = null
    try {
      const r = await api().call('experiments.create', { projectId: projectId.value, spec })
      await load(projectId.value)
      return r
    } catch (e) {
      createError.value = errMsg(e)
      return null
    } finally {
      creating.value = false
    }
  }

  async function compare(experimentId: number): Promise<void> {
    compareLoading.value = true
    compareError.value = null
    try {
      comparison.value = await api().call('experiments.compare', { experimentId })
    } catch (e) {
      comparison.value = null
      compareError.value = errMsg(e)
    } finally {
      compareLoading.value = false
    }
  }

  return { list, loading, error, projectId, creating, createError, comparison, compareLoading, compareError, load, create, compare }
})
