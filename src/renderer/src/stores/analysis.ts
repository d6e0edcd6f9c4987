import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AnalysisFile } from '../lib/analysisData'

/**
 * Analysis results shown by the Distortion and Galleries views. Today they come from a loaded JSON file;
 * when the analysis operations join the API contract, their fetches belong here.
 */
export const useAnalysisStore = defineStore('analysis', () => {
  const data = ref<AnalysisFile | null>(null)
  const source = ref<string | null>(null)
  function setFromFile(d: AnalysisFile, name: string): void {
    data.value = { ...(data.value ?? {}), ...d }
    source.value = name
  }
  function clear(): void {
    data.value = null
    source.value = null
  }
  return { data, source, setFromFile, clear }
})
