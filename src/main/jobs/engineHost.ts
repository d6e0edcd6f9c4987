/**
 * Supervises the long-lived engine process: starts it through a spawner (utilityProcess under Electron,
 * child_process.fork in serve mode / tests), correlates requests and responses, forwards events, and
 * reports its state. Main never does tensor work itself and never blocks on it.
 *
 * Supervision:
 * - one start at a time: concurrent start() calls (and requests made meanwhile) share one start;
 * - a timeout per request where an operation has a natural bound (DEFAULT_TIMEOUTS); long operations
 *   (a run, an analysis) have none and rely on liveness instead;
 * - liveness: while requests are outstanding, the engine is pinged whenever it has been quiet for
 *   `pingIntervalMs` (any message counts: batch events, responses); quiet for `livenessTimeoutMs` means hung:
 *   it is killed (SIGTERM, then SIGKILL) and its requests rejected with an EngineDownError (start-up is
 *   bounded by init's timeout instead: a process loading its modules cannot answer);
 * - automatic restart after an engine that was ready exits or hangs: after 1, 2, 4, 8, 16 s (capped at
 *   `maxDelayMs`), at most `maxRestarts` times within `windowMs`; then the host stays in 'error' and says why.
 *   Emits 'restarting' ({ delayMs, reason }) and 'restarted' (BackendInfo).
 */
import { EventEmitter } from 'node:events'
import type { BackendInfo, BackendName } from '../../shared/types'
import type { EngineChannel, EngineEvent, EngineMessage, EngineOpName, EngineOps, EngineSpawner } from '../engine/protocol'

export type EngineHostState = 'starting' | 'ready' | 'error' | 'stopped'

/** Request timeouts in ms; operations not listed wait as long as the engine stays alive. */
export const DEFAULT_TIMEOUTS: Partial<Record<EngineOpName, number>> = {
  init: 180_000, // loading tfjs-node(-gpu) or compiling wasm
  ping: 30_000,
  'run.cancel': 30_000,
  'model.inspect': 120_000,
  'run.export': 600_000,
}

export interface RestartOptions {
  /** first delay; doubles with every crash in the window (default 1 s) */
  baseDelayMs?: number
  /** longest delay (default 30 s) */
  maxDelayMs?: number
  /** automatic restarts allowed within windowMs (default 5) */
  maxRestarts?: number
  /** default 10 min */
  windowMs?: number
}

export interface EngineHostOptions {
  backend?: BackendName
  /** per-operation request timeouts in ms, merged over DEFAULT_TIMEOUTS (0: none) */
  timeouts?: Partial<Record<EngineOpName, number>>
  /** ping a busy engine after this much quiet (default 10 s) */
  pingIntervalMs?: number
  /** a busy engine quiet this long is hung (default 5 min, or $DAFT_ENGINE_LIVENESS_S; 0: never) */
  livenessTimeoutMs?: number
  /** automatic restart after a crash; false: none */
  restart?: RestartOptions | false
}

/** The engine process died, hung, or is not running: work sent to it is lost (a run is resumable). */
export class EngineDownError extends Error {
  constructor(
    message: string,
    readonly reason: 'exited' | 'hung' | 'not-running' | 'stopped',
  ) {
    super(message)
    this.name = 'EngineDownError'
  }
}

/** A request got no answer within its operation's timeout (the engine itself may still be fine). */
export class EngineTimeoutError extends Error {
  constructor(
    readonly op: EngineOpName,
    readonly timeoutMs: number,
  ) {
    super(`the engine did not answer ${op} within ${timeoutMs >= 1000 ? `${+(timeoutMs / 1000).toFixed(1)} s` : `${timeoutMs} ms`} (request timeout)`)
    this.name = 'EngineTimeoutError'
  }
}

interface Pending {
  op: EngineOpName
  ch: EngineChannel
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer?: ReturnType<typeof setTimeout>
}

function envLivenessMs(): number | undefined {
  const s = Number(process.env.DAFT_ENGINE_LIVENESS_S)
  return Number.isFinite(s) && s >= 0 && process.env.DAFT_ENGINE_LIVENESS_S ? s * 1000 : undefined
}

export class EngineHost extends EventEmitter {
  state: EngineHostState = 'stopped'
  backend?: BackendInfo
  error?: string
  /** set when automatic restarts stopped (too many crashes), until a start() succeeds; the runner then waits */
  gaveUp?: string
  private channel?: EngineChannel
  /** the channel whose init succeeded (a crash of a ready engine restarts it) */
  private readyChannel?: EngineChannel
  private nextId = 1
  private pending = new Map<number, Pending>()
  private stopping = false
  /** the start in progress or scheduled; start() and requests join it */
  private starting?: Promise<BackendInfo>
  private startToken?: object
  private restartTimer?: ReturnType<typeof setTimeout>
  private cancelRestart?: (e: Error) => void
  private crashes: number[] = []
  private lastHeard = 0
  private liveTimer?: ReturnType<typeof setInterval>
  private pinging = false
  private readonly timeouts: Partial<Record<EngineOpName, number>>
  private readonly pingIntervalMs: number
  private readonly livenessTimeoutMs: number
  private readonly restartOpts: Required<RestartOptions> | null

  constructor(
    private readonly spawn: EngineSpawner,
    private readonly opts: EngineHostOptions = {},
  ) {
    super()
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts }
    this.pingIntervalMs = opts.pingIntervalMs ?? 10_000
    this.livenessTimeoutMs = opts.livenessTimeoutMs ?? envLivenessMs() ?? 300_000
    this.restartOpts =
      opts.restart === false ? null : { baseDelayMs: 1000, maxDelayMs: 30_000, maxRestarts: 5, windowMs: 600_000, ...(opts.restart ?? {}) }
  }

  get pid(): number | undefined {
    return this.channel?.pid
  }

  /** Starts the process and initialises the backend; resolves when the engine is ready. Concurrent calls share one start. */
  start(): Promise<BackendInfo> {
    if (this.state === 'ready' && this.channel && this.backend) return Promise.resolve(this.backend)
    if (this.starting) return this.starting
    this.stopping = false
    return this.track(() => this.launch())
  }

  request<K extends EngineOpName>(op: K, payload: EngineOps[K]['req']): Promise<EngineOps[K]['res']> {
    const ch = this.channel
    if (ch) return this.send(ch, op, payload)
    // during a (re)start the request waits for the new process
    if (this.starting) return this.starting.then(() => this.request(op, payload))
    return Promise.reject(new EngineDownError(`engine process is not running${this.error ? ` (${this.error})` : ''}`, 'not-running'))
  }

  async stop(): Promise<void> {
    this.stopping = true
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    this.cancelRestart?.(new EngineDownError('the engine was stopped', 'stopped'))
    this.cancelRestart = undefined
    const ch = this.channel
    if (!ch) {
      if (this.state !== 'stopped') this.setState('stopped')
      return
    }
    await new Promise<void>((resolve) => {
      ch.onExit(() => resolve())
      ch.kill()
    })
  }

  /** Runs `fn` as the start in progress: start() and request() join it until it settles. */
  private track(fn: () => Promise<BackendInfo>): Promise<BackendInfo> {
    // which start this is: the finally below clears `starting` only if no newer start replaced it
    const token = {}
    this.startToken = token
    const p: Promise<BackendInfo> = (async () => {
      await null // `this.starting = p` is set before anything below runs
      try {
        return await fn()
      } finally {
        if (this.startToken === token) this.starting = undefined
      }
    })()
    this.starting = p
    p.catch(() => undefined) // callers get the rejection; an unobserved one is not an unhandled rejection
    return p
  }

  private async launch(): Promise<BackendInfo> {
    this.setState('starting')
    const ch = this.spawn()
    this.channel = ch
    this.lastHeard = Date.now()
    ch.onMessage((m) => this.onMessage(ch, m))
    ch.onExit((code) => this.onExit(ch, code))
    this.armLiveness()
    try {
      const backend = await this.send(ch, 'init', { backend: this.opts.backend })
      if (this.channel !== ch) throw new EngineDownError('engine process exited while starting', 'exited')
      this.backend = backend
      this.error = undefined
      this.gaveUp = undefined
      this.readyChannel = ch
      this.setState('ready')
      return backend
    } catch (e) {
      if (this.channel === ch) {
        // init failed or timed out but the process lives: do not leave it behind
        this.channel = undefined
        this.disarmLiveness()
        this.rejectPending(ch, new EngineDownError(`engine failed to start: ${(e as Error).message}`, 'not-running'))
        ch.kill()
      }
      if (this.stopping) {
        if (this.state !== 'stopped') this.setState('stopped')
      } else if (this.state !== 'error') {
        // (an exit during init has reported 'error' already)
        this.error = (e as Error).message
        this.setState('error')
      }
      throw e
    }
  }

  private send<K extends EngineOpName>(ch: EngineChannel, op: K, payload: EngineOps[K]['req'], timeoutMs = this.timeouts[op] ?? 0): Promise<EngineOps[K]['res']> {
    const id = this.nextId++
    // a busy period starts now: liveness counts quiet from here, not from the last idle message
    if (op !== 'ping' && !this.busy(ch)) this.lastHeard = Date.now()
    return new Promise((resolve, reject) => {
      const entry: Pending = { op, ch, resolve: resolve as (v: unknown) => void, reject }
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id)
          reject(new EngineTimeoutError(op, timeoutMs))
        }, timeoutMs)
      }
      this.pending.set(id, entry)
      try {
        ch.send({ kind: 'request', id, op, payload })
      } catch (e) {
        this.settle(id)
        reject(new EngineDownError(`could not send ${op} to the engine: ${(e as Error).message}`, 'not-running'))
      }
    })
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id)
    if (!p) return undefined
    this.pending.delete(id)
    if (p.timer) clearTimeout(p.timer)
    return p
  }

  /** Has the engine work outstanding that liveness watches? (start-up is bounded by init's own timeout) */
  private busy(ch: EngineChannel): boolean {
    for (const p of this.pending.values()) if (p.ch === ch && p.op !== 'ping' && p.op !== 'init') return true
    return false
  }

  private rejectPending(ch: EngineChannel, err: Error): void {
    for (const [id, p] of [...this.pending]) {
      if (p.ch !== ch) continue
      this.settle(id)
      p.reject(err)
    }
  }

  private onMessage(ch: EngineChannel, m: EngineMessage): void {
    if (ch !== this.channel) return
    this.lastHeard = Date.now()
    if (m.kind === 'event') {
      this.emit('event', m.event satisfies EngineEvent)
      return
    }
    const p = this.settle(m.id)
    if (!p) return
    if (m.ok) p.resolve(m.result)
    else {
      const err = new Error(m.error.message)
      if (m.error.stack) err.stack = m.error.stack
      p.reject(err)
    }
  }

  private onExit(ch: EngineChannel, code: number | null): void {
    if (this.channel !== ch) return
    this.abandon(ch, `engine process exited (code ${code})`, 'exited')
  }

  /** The engine is gone (exited) or given up on (hung): reject its requests, report, maybe restart. */
  private abandon(ch: EngineChannel, why: string, reason: 'exited' | 'hung'): void {
    this.channel = undefined
    this.disarmLiveness()
    this.rejectPending(ch, new EngineDownError(why, reason))
    if (reason === 'hung') ch.kill()
    if (this.stopping) {
      this.setState('stopped')
      return
    }
    this.error = why
    this.setState('error')
    if (this.readyChannel === ch) {
      this.readyChannel = undefined
      this.scheduleRestart(why)
    }
  }

  private scheduleRestart(why: string): void {
    const r = this.restartOpts
    if (!r || this.stopping) return
    const now = Date.now()
    this.crashes = this.crashes.filter((t) => now - t < r.windowMs)
    this.crashes.push(now)
    if (this.crashes.length > r.maxRestarts) {
      this.gaveUp = `the engine stopped ${this.crashes.length} times within ${Math.round(r.windowMs / 60_000)} min; it is not restarted automatically (last: ${why})`
      this.error = this.gaveUp
      this.setState('error')
      return
    }
    const delayMs = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** (this.crashes.length - 1))
    this.emit('restarting', { delayMs, reason: why })
    this.track(
      () =>
        new Promise<BackendInfo>((resolve, reject) => {
          this.cancelRestart = reject
          this.restartTimer = setTimeout(() => {
            this.restartTimer = undefined
            this.cancelRestart = undefined
            this.launch().then(
              (info) => {
                this.emit('restarted', info)
                resolve(info)
              },
              (e: Error) => {
                // a restart that fails counts as another crash (backoff, cap)
                reject(e)
                if (!this.stopping && !this.channel) queueMicrotask(() => this.scheduleRestart(`restart failed: ${e.message}`))
              },
            )
          }, delayMs)
        }),
    )
  }

  private armLiveness(): void {
    this.disarmLiveness()
    if (!this.livenessTimeoutMs) return
    this.liveTimer = setInterval(() => this.checkLiveness(), Math.max(10, Math.min(this.pingIntervalMs, this.livenessTimeoutMs / 2)))
    this.liveTimer.unref?.()
  }

  private disarmLiveness(): void {
    if (this.liveTimer) clearInterval(this.liveTimer)
    this.liveTimer = undefined
  }

  private checkLiveness(): void {
    const ch = this.channel
    if (!ch || !this.busy(ch)) return
    const quiet = Date.now() - this.lastHeard
    if (quiet >= this.livenessTimeoutMs) {
      this.abandon(ch, `engine process stopped answering (pid ${ch.pid}: no reply to pings for ${+(quiet / 1000).toFixed(1)} s while it had work); it was killed`, 'hung')
      return
    }
    if (quiet >= this.pingIntervalMs && !this.pinging) {
      this.pinging = true
      this.send(ch, 'ping', {}, 0)
        .catch(() => undefined)
        .finally(() => (this.pinging = false))
    }
  }

  private setState(s: EngineHostState): void {
    this.state = s
    this.emit('state', s)
  }
}
