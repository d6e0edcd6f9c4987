import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DatasetDetail, DatasetSummary, ImageRef } from '@shared/types'
import { api } from '../api'
import { errMsg } from '../lib/format'

/** Datasets of the active project, the selected dataset's detail and preview, and a thumbnail cache. */
export const useDatasetsStore = defineStore('datasets', () => {
  const list = ref<DatasetSummary[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const projectId = ref<number | null>(null)

  const selectedId = ref<number | null>(null)
  const detail = ref<DatasetDetail | null>(null)
  const detailLoading = ref(false)
  const detailError = ref<string | null>(null)

  const preview = ref<ImageRef[]>([])
  const previewLoading = ref(false)
  const previewError = ref<string | null>(null)

  const importing = ref(false)
  const importError = ref<string | null>(null)

  async function load(pid: number): Promise<void> {
    projectId.value = pid
    loading.value = true
    try {
      list.value = await api().call('datasets.list', { projectId: pid })
      error.value = null
      if (selectedId.value !== null && !list.value.some((d) => d.id === selectedId.value)) selectedId.value = null
    } catch (e) {
      error.value = errMsg(e)
    } finally {
      loading.value = false
    }
  }

  async function select(id: number | null): Promise<void> {
    selectedId.value = id
    detail.value = null
    preview.value = []
    if (id === null) return
    detailLoading.value = true
    try {
      const d = await api().call('datasets.get', { id })
      if (selectedId.value === id) detail.value = d
      detailError.value = null
    } catch (e) {
      detailError.value = errMsg(e)
    } finally {
      detailLoading.value = false
    }
  }

  async function loadPreview(id: number, split: string, perClass: number): Promise<void> {
    previewLoading.value = true
    try {
      const refs = await api().call('datasets.preview', { id, split, perClass })
      if (selectedId.value === id) preview.value = refs
      previewError.value = null
    } catch (e) {
      previewError.value = errMsg(e)
    } finally {
      previewLoading.value = false
    }
  }

  async function importFolder(req: { root: string; name?: string; valFraction?: number }): Promise<DatasetDetail | null> {
    if (projectId.value === null) {
      importError.value = 'No active project: pick one in the Projects view first.'
      return null
    }
    importing.value = true
    importError.value = null
    try {
      const d = await api().call('datasets.import', { projectId: projectId.value, ...req })
      await load(projectId.value)
      selectedId.value = d.id
      detail.value = d
      return d
    } catch (e) {
      importError.value = errMsg(e)
      return null
    } finally {
      importing.value = false
    }
  }

  // thumbnails: path|size -> data URL (promises shared so a grid asks once per image)
  const thumbs = new Map<string, Promise<string>>()
  function thumb(path: string, size = 96): Promise<string> {
    const key = `${size}|${path}`
    let p = thumbs.get(key)
    if (!p) {
      p = api().call('images.get', { path, size }).then((r) => r.dataUrl)
      p.catch(() => thumbs.delete(key))
      thumbs.set(key, p)
    }
    return p
  }

  return { list, loading, error, projectId, selectedId, detail, detailLoading, detailError, preview, previewLoading, previewError, importing, importError, load, select, loadPreview, importFolder, thumb }
})
