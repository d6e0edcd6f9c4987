import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppStatus } from '@shared/types'
import { api } from '../api'

/** App-wide status: engine state, backend and device, the running job. Kept live by engine events. */
export const useAppStore = defineStore('app', () => {
  const status = ref<AppStatus | null>(null)
  const error = ref<string | null>(null)
  let unsubscribe: (() => void) | undefined

  async function refresh(): Promise<void> {
    try {
      status.value = await api().call('app.status', {})
      error.value = null
    } catch (e) {
      error.value = (e as Error).message
    }
  }

  function connect(): void {
    if (unsubscribe) return
    unsubscribe = api().subscribe((ev) => {
      if (ev.type === 'engine.state' && status.value) {
        status.value = { ...status.value, engine: { ...status.value.engine, state: ev.state, backend: ev.backend, error: ev.error } }
      }
    })
  }

  return { status, error, refresh, connect }
})
