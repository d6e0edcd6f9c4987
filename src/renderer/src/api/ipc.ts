import type { ApiEvent, OpName, Req, Res } from '@shared/api'
import { unwrap, type ApiClient } from './client'

/** What the preload exposes as window.daft (one named function per operation). */
export interface DaftBridge {
  ops: Record<OpName, (req: unknown) => Promise<unknown>>
  onEvent(cb: (ev: ApiEvent) => void): () => void
}

export class IpcClient implements ApiClient {
  readonly transport = 'ipc' as const
  constructor(private readonly bridge: DaftBridge) {}

  async call<K extends OpName>(op: K, req: Req<K>): Promise<Res<K>> {
    return unwrap<Res<K>>(await this.bridge.ops[op](req ?? {}))
  }

  subscribe(cb: (ev: ApiEvent) => void): () => void {
    return this.bridge.onEvent(cb)
  }
}
