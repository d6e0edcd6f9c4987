import { defineStore } from 'pinia'
import { ref } from 'vue'

export type ViewName = 'projects'

export const VIEWS: { name: ViewName; label: string }[] = [{ name: 'projects', label: 'Projects' }]

export const useUiStore = defineStore('ui', () => {
  const view = ref<ViewName>('projects')
  return { view }
})
