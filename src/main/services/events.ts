import type { ApiEvent } from '../../shared/api'

/** Fan-out of live events to every connected client (IPC windows, SSE streams). */
export class EventHub {
  private listeners = new Set<(ev: ApiEvent) => void>()

  subscribe(cb: (ev: ApiEvent) => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  publish(ev: ApiEvent): void {
    for (const cb of this.listeners) {
      try {
        cb(ev)
      } catch {
        // a broken client must not stop the others
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}
