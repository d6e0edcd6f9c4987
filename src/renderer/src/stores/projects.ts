import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ProjectSummary } from '@shared/types'
import { api } from '../api'

export const useProjectsStore = defineStore('projects', () => {
  const projects = ref<ProjectSummary[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const activeId = ref<number | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    try {
      projects.value = await api().call('projects.list', {})
      error.value = null
      if (activeId.value === null) activeId.value = projects.value[0]?.id ?? null
    } catch (e) {
      error.value = (e as Error).message
    } finally {
      loading.value = false
    }
  }

  return { projects, loading, error, activeId, load }
})
