import type { ApiEvent } from '@shared/api'
import type { ApiClient } from './client'
import { HttpClient } from './http'
import { IpcClient, type DaftBridge } from './ipc'

let client: ApiClient | undefined

/**
 * The client for whichever front door the page was opened through. In serve mode the first call also takes
 * the access token out of the address bar (see takeAccessToken in ./http).
 */
export function api(): ApiClient {
  if (!client) {
    const bridge = (window as unknown as { daft?: DaftBridge }).daft
    client = bridge ? new IpcClient(bridge) : new HttpClient()
  }
  return client
}

const listeners = new Set<(ev: ApiEvent) => void>()
let unsubscribeAll: (() => void) | undefined

/**
 * Listens to server events through ONE shared subscription (one event stream in serve mode, however many
 * stores listen). Returns the function that removes this listener.
 */
export function onApiEvent(cb: (ev: ApiEvent) => void): () => void {
  listeners.add(cb)
  if (!unsubscribeAll) {
    unsubscribeAll = api().subscribe((ev) => {
      for (const l of listeners) {
        try {
          l(ev)
        } catch (e) {
          console.error('event listener failed', e)
        }
      }
    })
  }
  return () => {
    listeners.delete(cb)
    if (!listeners.size && unsubscribeAll) {
      unsubscribeAll()
      unsubscribeAll = undefined
    }
  }
}
