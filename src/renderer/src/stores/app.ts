import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppStatus } from '@shared/types'
import { api, onApiEvent } from '../api'
import { errMsg } from '../lib/format'

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
      error.value = errMsg(e)
    }
  }

  function connect(): void {
    if (unsubscribe) return
    unsubscribe = onApiEvent((ev) => {
      if (ev.type === 'engine.state' && status.value) {
        status.value = { ...status.value, engine: { ...status.value.engine, state: ev.state, backend: ev.backend ?? status.value.engine.backend, error: ev.error } }
      } else if (ev.type === 'run.state') {
        // the running job changed: ask for the new one
        void refresh()
      } else if (ev.type === 'run.batch' && status.value && status.value.runningJob?.runId !== ev.runId) {
        status.value = { ...status.value, runningJob: { runId: ev.runId, name: `run #${ev.runId}` } }
        void refresh()
      }
    })
  }

  return { status, error, refresh, connect }
})
