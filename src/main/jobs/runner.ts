/**
 * The job runner: runs go through a FIFO queue into the engine process, one at a time.
 * States: queued -> running -> succeeded | failed | cancelled; a run whose process died becomes
 * interrupted (store/runs.ts recoverInterrupted) and can be resumed from its last epoch checkpoint.
 * Every finished epoch is written before the next starts, so a crash loses no finished data.
 */
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import type { Db } from '../store/db'
import type { EngineHost } from './engineHost'
import type { EventHub } from '../services/events'
import type { EngineEvent } from '../engine/protocol'
import * as runs from '../store/runs'

/** Where a run's checkpoint, weights and exports live. */
export function runDirOf(dataDir: string, runId: number): string {
  return join(dataDir, 'runs', String(runId))
}

export interface RunnerOptions {
  dataDir: string
  heartbeatMs?: number
  /** awaited after each run ends, before the next starts (analysis of a finished run, sweep steps) */
  afterRun?: (runId: number) => void | Promise<void>
}

export class JobRunner {
  private current: { runId: number; name: string } | null = null
  private pumping = false
  private beat?: ReturnType<typeof setInterval>
  private pendingLosses: { step: number; epoch: number; loss: number }[] = []
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly db: Db,
    private readonly engine: EngineHost,
    private readonly events: EventHub,
    private readonly opts: RunnerOptions,
  ) {
    engine.on('event', (ev: EngineEvent) => this.onEngineEvent(ev))
  }

  get running(): { runId: number; name: string } | null {
    return this.current
  }

  runDir(runId: number): string {
    return runDirOf(this.opts.dataDir, runId)
  }

  /** Starts working through the queue (no-op when already working). */
  kick(): void {
    if (!this.pumping) void this.pump()
  }

  /** Resolves when the queue is empty and nothing runs. */
  idle(): Promise<void> {
    if (!this.pumping) return Promise.resolve()
    return new Promise((r) => this.idleWaiters.push(r))
  }

  async cancel(runId: number): Promise<boolean> {
    if (runs.cancelQueued(this.db, runId)) {
      this.events.publish({ type: 'run.state', runId, status: 'cancelled' })
      return true
    }
    if (this.current?.runId === runId) return (await this.engine.request('run.cancel', { runId })).cancelled
    return runs.requestCancel(this.db, runId)
  }

  /** An interrupted run goes back into the queue; it continues from its last checkpoint. */
  resume(runId: number): boolean {
    const ok = runs.requeueRun(this.db, runId)
    if (ok) this.kick()
    return ok
  }

  private nextQueued(): number | undefined {
    const row = this.db.prepare("SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1").get() as { id: number } | undefined
    return row?.id
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      for (let runId = this.nextQueued(); runId !== undefined; runId = this.nextQueued()) {
        await this.execute(runId)
      }
    } finally {
      this.pumping = false
      for (const w of this.idleWaiters.splice(0)) w()
    }
  }

  private async execute(runId: number): Promise<void> {
    const spec = runs.getRunSpec(this.db, runId)
    const checkpointEpoch = runs.getRunStatus(this.db, runId)?.checkpointEpoch ?? null
    if (!runs.claimRun(this.db, runId, process.pid, this.engine.backend?.name ?? null)) return
    const resume = checkpointEpoch !== null
    // the checkpoint holds `checkpointEpoch` finished epochs (0-based epochs 0 .. checkpointEpoch-1): drop what comes after
    if (resume) runs.truncateRunAfter(this.db, runId, checkpointEpoch - 1)
    this.current = { runId, name: `#${runId} ${spec.recipe.method} (seed ${spec.seed})` }
    this.events.publish({ type: 'run.state', runId, status: 'running' })
    this.beat = setInterval(() => {
      runs.heartbeat(this.db, [runId])
      // a cancel asked for by another process (the CLI, a second window) arrives through the store
      if (runs.cancelRequested(this.db, runId)) void this.engine.request('run.cancel', { runId }).catch(() => undefined)
    }, this.opts.heartbeatMs ?? 2000)
    try {
      if (this.engine.state !== 'ready') await this.engine.start()
      const out = await this.engine.request('run.start', {
        runId,
        spec,
        runDir: this.runDir(runId),
        cacheDir: join(this.opts.dataDir, 'cache'),
        resume,
      })
      this.flushLosses(runId)
      if (out.status === 'succeeded') this.recordFile(runId, 'final', join(this.runDir(runId), 'final.safetensors'))
      // a diverged run (non-finite loss) is a failed run whose health says why
      const status = out.status === 'diverged' ? 'failed' : out.status
      runs.finishRun(this.db, runId, status, { bestEpoch: out.bestEpoch, final: out.final, error: out.error ?? null, health: out.health })
      this.events.publish({ type: 'run.state', runId, status, ...(out.error ? { error: out.error } : {}) })
    } catch (e) {
      this.flushLosses(runId)
      const message = (e as Error).message
      // the engine died under the run: it is resumable, not failed
      const died = /engine process exited|not running/.test(message)
      runs.finishRun(this.db, runId, died ? 'interrupted' : 'failed', { error: message })
      this.events.publish({ type: 'run.state', runId, status: died ? 'interrupted' : 'failed', error: message })
    } finally {
      clearInterval(this.beat)
      this.current = null
    }
    try {
      await this.opts.afterRun?.(runId)
    } catch (e) {
      console.error(`after run ${runId}: ${(e as Error).message}`)
    }
  }

  /** A file the run wrote, by path and hash (final weights; checkpoints arrive with their epoch event). */
  private recordFile(runId: number, kind: string, path: string): void {
    if (!existsSync(path)) return
    const buf = readFileSync(path)
    runs.addArtifact(this.db, runId, kind, path, createHash('sha256').update(buf).digest('hex'), buf.length)
  }

  private flushLosses(runId: number): void {
    if (!this.pendingLosses.length) return
    runs.recordBatchLosses(this.db, runId, this.pendingLosses.splice(0))
  }

  private onEngineEvent(ev: EngineEvent): void {
    if (ev.type === 'run.batch') {
      this.pendingLosses.push({ step: ev.step, epoch: ev.epoch, loss: ev.loss })
      if (this.pendingLosses.length >= 20) this.flushLosses(ev.runId)
      this.events.publish({ type: 'run.batch', runId: ev.runId, epoch: ev.epoch, step: ev.step, batch: ev.batch, batches: ev.batches, loss: ev.loss, imagesPerSec: ev.imagesPerSec })
    } else if (ev.type === 'run.epoch') {
      this.flushLosses(ev.runId)
      if (ev.imagesPerSec) runs.recordThroughput(this.db, ev.runId, ev.imagesPerSec)
      runs.recordEpoch(this.db, ev.runId, ev.metrics, ev.checkpoint?.epoch)
      if (ev.checkpoint) runs.addArtifact(this.db, ev.runId, 'checkpoint', ev.checkpoint.path, ev.checkpoint.sha256, ev.checkpoint.bytes)
      this.events.publish({ type: 'run.epoch', runId: ev.runId, metrics: ev.metrics })
    } else if (ev.type === 'run.stage') {
      this.events.publish(ev)
    }
  }
}
