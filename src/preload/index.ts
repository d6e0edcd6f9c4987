/**
 * The narrow bridge: one named function per API operation (from the shared contract) and an event
 * subscription. ipcRenderer itself is never exposed, and no channel can be chosen by the page.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { API_OPERATIONS, type ApiEvent } from '../shared/api'

const ops = Object.fromEntries(
  API_OPERATIONS.map((op) => [op, (req: unknown) => ipcRenderer.invoke(`daft:${op}`, req ?? {})]),
)

contextBridge.exposeInMainWorld('daft', {
  ops,
  onEvent(cb: (ev: ApiEvent) => void): () => void {
    const listener = (_e: IpcRendererEvent, ev: ApiEvent): void => cb(ev)
    ipcRenderer.on('daft:event', listener)
    return () => ipcRenderer.removeListener('daft:event', listener)
  },
})
