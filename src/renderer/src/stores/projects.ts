import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ProjectSummary } from '@shared/types'
import { api } from '../api'
import { errMsg } from '../lib/format'

export const useProjectsStore = defineStore('projects', () => {
  const projects = ref<ProjectSummary[]>([])
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<string | null>(null)
  const activeId = ref<number | null>(null)
  const active = computed(() => projects.value.find((p) => p.id === activeId.value) ?? null)

  async function load(): Promise<void> {
    loading.value = true
    try {
      projects.value = await api().call('projects.list', {})
      error.value = null
      loaded.value = true
      if (activeId.value === null || !projects.value.some((p) => p.id === activeId.value)) activeId.value = projects.value[0]?.id ?? null
    } catch (e) {
      error.value = errMsg(e)
    } finally {
      loading.value = false
    }
  }

  /** Loads the projects once (views opened before the Projects view need the active project). */
  async function ensure(): Promise<number | null> {
    if (!loaded.value && !loading.value) await load()
    return activeId.value
  }

  return { projects, loading, loaded, error, activeId, active, load, ensure }
})
