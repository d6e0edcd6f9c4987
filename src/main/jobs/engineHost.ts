/**
 * Supervises the long-lived engine process: starts it through a spawner (utilityProcess under Electron,
 * child_process.fork in serve mode / tests), correlates requests and responses, forwards events, and
 * reports its state. Main never does tensor work itself and never blocks on it.
 */
import { EventEmitter } from 'node:events'
import type { BackendInfo, BackendName } from '../../shared/types'
import type { EngineChannel, EngineEvent, EngineMessage, EngineOpName, EngineOps, EngineSpawner } from '../engine/protocol'

export type EngineHostState = 'starting' | 'ready' | 'error' | 'stopped'

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
}

export class EngineHost extends EventEmitter {
  state: EngineHostState = 'stopped'
  backend?: BackendInfo
  error?: string
  private channel?: EngineChannel
  private nextId = 1
  private pending = new Map<number, Pending>()
  private stopping = false

  constructor(private readonly spawn: EngineSpawner, private readonly opts: { backend?: BackendName } = {}) {
    super()
  }

  get pid(): number | undefined {
    return this.channel?.pid
  }

  /** Starts the process and initialises the backend; resolves when the engine is ready. */
  async start(): Promise<BackendInfo> {
    this.stopping = false
    this.setState('starting')
    const ch = this.spawn()
    this.channel = ch
    ch.onMessage((m) => this.onMessage(m))
    ch.onExit((code) => this.onExit(ch, code))
    try {
      this.backend = await this.request('init', { backend: this.opts.backend })
      this.setState('ready')
      return this.backend
    } catch (e) {
      this.error = (e as Error).message
      this.setState('error')
      throw e
    }
  }

  request<K extends EngineOpName>(op: K, payload: EngineOps[K]['req']): Promise<EngineOps[K]['res']> {
    const ch = this.channel
    if (!ch) return Promise.reject(new Error('engine process is not running'))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      ch.send({ kind: 'request', id, op, payload })
    })
  }

  async stop(): Promise<void> {
    this.stopping = true
    const ch = this.channel
    if (!ch) return
    await new Promise<void>((resolve) => {
      ch.onExit(() => resolve())
      ch.kill()
    })
  }

  private onMessage(m: EngineMessage): void {
    if (m.kind === 'event') {
      this.emit('event', m.event satisfies EngineEvent)
      return
    }
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    if (m.ok) p.resolve(m.result)
    else {
      const err = new Error(m.error.message)
      if (m.error.stack) err.stack = m.error.stack
      p.reject(err)
    }
  }

  private onExit(ch: EngineChannel, code: number | null): void {
    if (this.channel !== ch) return
    this.channel = undefined
    const why = `engine process exited (code ${code})`
    for (const p of this.pending.values()) p.reject(new Error(why))
    this.pending.clear()
    if (this.stopping) this.setState('stopped')
    else {
      this.error = why
      this.setState('error')
    }
  }

  private setState(s: EngineHostState): void {
    this.state = s
    this.emit('state', s)
  }
}
