import type { ApiClient } from './client'
import { HttpClient } from './http'
import { IpcClient, type DaftBridge } from './ipc'

let client: ApiClient | undefined

/** The client for whichever front door the page was opened through. */
export function api(): ApiClient {
  if (!client) {
    const bridge = (window as unknown as { daft?: DaftBridge }).daft
    client = bridge ? new IpcClient(bridge) : new HttpClient()
  }
  return client
}
