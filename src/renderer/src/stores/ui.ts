import { defineStore } from 'pinia'
import { ref } from 'vue'

export type ViewName = 'projects' | 'datasets' | 'models' | 'new-experiment' | 'runs' | 'compare' | 'distortion' | 'galleries'

export const VIEWS: { name: ViewName; label: string }[] = [
  { name: 'projects', label: 'Projects' },
  { name: 'datasets', label: 'Datasets' },
  { name: 'models', label: 'Models' },
  { name: 'new-experiment', label: 'New experiment' },
  { name: 'runs', label: 'Runs' },
  { name: 'compare', label: 'Compare' },
  { name: 'distortion', label: 'Distortion' },
  { name: 'galleries', label: 'Galleries' },
]

/** Navigation and cross-view selections (e.g. Compare -> a method's runs). */
export const useUiStore = defineStore('ui', () => {
  const view = ref<ViewName>('projects')
  /** Runs view filter: one experiment (and optionally one method), set by Compare */
  const runsFilter = ref<{ experimentId: number; method?: string } | null>(null)
  const focusRunId = ref<number | null>(null)

  function go(v: ViewName): void {
    view.value = v
  }
  function showRuns(filter: { experimentId: number; method?: string } | null, runId?: number): void {
    runsFilter.value = filter
    focusRunId.value = runId ?? null
    view.value = 'runs'
  }
  return { view, runsFilter, focusRunId, go, showRuns }
})
