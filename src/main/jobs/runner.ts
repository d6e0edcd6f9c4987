/**
 * The job runner: runs go through a FIFO queue into the engine process, one at a time.
 * States: queued -> running -> succeeded | failed | cancelled; a run whose process died becomes
 * interrupted (store/runs.ts recoverInterrupted) and can be resumed from its last epoch checkpoint.
 * Every finished epoch is written before the next starts, so a crash loses no finished data.
 *
 * When the engine dies or hangs under a run (EngineDownError), the run becomes interrupted (an event says
 * so) and the queue goes on once the host has restarted the engine. A run is claimed only after the engine
 * is up; before a resume the runner checks the run's checkpoints against the sha256 the store recorded and
 * falls back to the previous one, or starts over, when the newest is missing or corrupt (engine/tasks/checkpoint.ts).
 */
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import type { Db } from '../store/db'
import { EngineDownError, type EngineHost } from './engineHost'
import type { EventHub } from '../services/events'
import { runDirOf } from '../dataDir'
import type { RunnerPort } from '../services/ports'
import { FINAL_WEIGHTS, type EngineEvent } from '../engine/protocol'
import * as runs from '../store/runs'
import { checkpointWeightsPath, chooseCheckpoint } from '../engine/tasks/checkpoint'

export { runDirOf }

export interface RunnerOptions {
  dataDir: string
  heartbeatMs?: number
  /** awaited after each run ends, before the next starts (analysis of a finished run, sweep steps) */
  afterRun?: (runId: number) => void | Promise<void>
}

export class JobRunner implements RunnerPort {
  private current: { runId: number; name: string } | null = null
  private pumping = false
  private beat?: ReturnType<typeof setInterval>
  private pendingLosses: { step: number; epoch: number; loss: number }[] = []
  /** runs another process took over while this one ran them (warned once each) */
  private readonly disowned = new Set<number>()
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly db: Db,
    private readonly engine: EngineHost,
    private readonly events: EventHub,
    private readonly opts: RunnerOptions,
  ) {
    engine.on('event', (ev: EngineEvent) => this.onEngineEvent(ev))
    // the engine came back by itself after a crash: go on with the queue
    engine.on('restarted', () => this.kick())
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

  /**
   * Works through the queue (kick) and resolves when it is empty and nothing runs. The kick is part of it: a
   * caller that queued runs needs no kick (nor a pause) of its own first, and a run queued while an earlier pump
   * was ending (say, one that stopped because the engine did not start) is not left waiting.
   */
  idle(): Promise<void> {
    this.kick()
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
    return runs.nextQueuedRun(this.db)
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      for (let runId = this.nextQueued(); runId !== undefined; runId = this.nextQueued()) {
        if (!(await this.execute(runId))) break
      }
    } finally {
      this.pumping = false
      for (const w of this.idleWaiters.splice(0)) w()
    }
  }

  /** Runs one queued run; false when the engine cannot be started (the run stays queued, the queue waits). */
  private async execute(runId: number): Promise<boolean> {
    const spec = runs.getRunSpec(this.db, runId)
    // the engine first (one start, shared with anyone else starting it): a run is claimed only when it can run
    if (this.engine.state !== 'ready') {
      if (this.engine.gaveUp) return false
      try {
        await this.engine.start()
      } catch (e) {
        console.error(`run ${runId} waits: the engine did not start (${(e as Error).message})`)
        return false
      }
    }
    const checkpointEpoch = runs.getRunStatus(this.db, runId)?.checkpointEpoch ?? null
    if (!runs.claimRun(this.db, runId, process.pid, this.engine.backend?.name ?? null)) return true
    this.current = { runId, name: `#${runId} ${spec.recipe.method} (seed ${spec.seed})` }
    this.events.publish({ type: 'run.state', runId, status: 'running' })
    this.beat = setInterval(() => {
      runs.heartbeat(this.db, [runId])
      // a cancel asked for by another process (the CLI, a second window) arrives through the store
      if (runs.cancelRequested(this.db, runId)) void this.engine.request('run.cancel', { runId }).catch(() => undefined)
    }, this.opts.heartbeatMs ?? 2000)
    try {
      const resume = await this.prepareCheckpoint(runId, checkpointEpoch)
      const out = await this.engine.request('run.start', {
        runId,
        spec,
        runDir: this.runDir(runId),
        cacheDir: join(this.opts.dataDir, 'cache'),
        resume,
      })
      this.flushLosses(runId)
      if (out.status === 'succeeded') {
        this.recordFile(runId, 'final', join(this.runDir(runId), FINAL_WEIGHTS))
        // a finished run keeps its newest checkpoint only (runJob removed the previous one)
        runs.removeArtifact(this.db, runId, 'checkpoint', checkpointWeightsPath(this.runDir(runId), 'previous'))
      }
      // a diverged run (non-finite loss) is a failed run whose health says why
      const status = out.status === 'diverged' ? 'failed' : out.status
      if (runs.finishRun(this.db, runId, status, { bestEpoch: out.bestEpoch, final: out.final, error: out.error ?? null, health: out.health, owner: process.pid })) {
        this.events.publish({ type: 'run.state', runId, status, ...(out.error ? { error: out.error } : {}) })
      } else this.lostOwnership(runId)
    } catch (e) {
      this.flushLosses(runId)
      const message = (e as Error).message
      // the engine died or hung under the run (the host restarts it): the run is resumable, not failed
      // typed: the host rejects work lost with its process as EngineDownError (exited, hung, not running)
      const died = e instanceof EngineDownError
      if (runs.finishRun(this.db, runId, died ? 'interrupted' : 'failed', { error: message, owner: process.pid })) {
        this.events.publish({ type: 'run.state', runId, status: died ? 'interrupted' : 'failed', error: message })
      } else this.lostOwnership(runId)
    } finally {
      clearInterval(this.beat)
      this.current = null
    }
    try {
      await this.opts.afterRun?.(runId)
    } catch (e) {
      console.error(`after run ${runId}: ${(e as Error).message}`)
    }
    return true
  }

  /**
   * Before a claimed run starts: which checkpoint it continues from. `checkpointEpoch` is what the store
   * recorded (null: none, the run starts from the beginning). Returns whether the engine resumes.
   * The store is brought in line with the checkpoint chosen (epochs after it dropped; they run again).
   */
  private async prepareCheckpoint(runId: number, checkpointEpoch: number | null): Promise<boolean> {
    if (checkpointEpoch === null) return false
    const dir = this.runDir(runId)
    const known = runs.checkpointArtifacts(this.db, runId)
    const c = await chooseCheckpoint(dir, new Set(known.map((k) => k.sha256)))
    if (c.use === 'newest') {
      if (c.epochsDone !== checkpointEpoch) runs.resetCheckpoints(this.db, runId, c.epochsDone, known)
      // the checkpoint holds `epochsDone` finished epochs (0-based epochs 0 .. epochsDone-1): drop what comes after
      runs.truncateRunAfter(this.db, runId, c.epochsDone! - 1)
      return true
    }
    let note: string
    if (c.use === 'previous') {
      const from = c.epochsDone!
      runs.resetCheckpoints(this.db, runId, from, [{ path: checkpointWeightsPath(dir), sha256: c.sha256!, bytes: c.bytes! }])
      runs.truncateRunAfter(this.db, runId, from - 1)
      note = `resuming from the previous checkpoint (after epoch ${from}); epochs from ${from + 1} run again: ${c.problems.join('; ')}`
    } else {
      // nothing usable: the run starts over (same seed, same result), its recorded epochs are dropped
      runs.resetCheckpoints(this.db, runId, null, [])
      runs.truncateRunAfter(this.db, runId, -2)
      note = `starting over: no usable checkpoint (${c.problems.join('; ')})`
    }
    console.warn(`run ${runId}: ${note}`)
    this.events.publish({ type: 'run.stage', runId, stage: note })
    return c.use === 'previous'
  }

  /** A file the run wrote, by path and hash (final weights; checkpoints arrive with their epoch event). */
  private recordFile(runId: number, kind: string, path: string): void {
    if (!existsSync(path)) return
    const buf = readFileSync(path)
    runs.addArtifact(this.db, runId, kind, path, createHash('sha256').update(buf).digest('hex'), buf.length)
  }

  private flushLosses(runId: number): void {
    if (!this.pendingLosses.length) return
    const rows = this.pendingLosses.splice(0)
    if (this.owns(runId)) runs.recordBatchLosses(this.db, runId, rows)
  }

  /** Writes for a run happen only while this process owns it in the store; otherwise its engine stops it. */
  private owns(runId: number): boolean {
    if (runs.ownsRun(this.db, runId, process.pid)) return true
    this.lostOwnership(runId)
    return false
  }

  private lostOwnership(runId: number): void {
    if (this.disowned.has(runId)) return
    this.disowned.add(runId)
    const message = `run ${runId} is no longer owned by this process (pid ${process.pid}): another process took it over; its results here are discarded`
    console.warn(message)
    this.events.publish({ type: 'run.stage', runId, stage: message })
    if (this.current?.runId === runId) void this.engine.request('run.cancel', { runId }).catch(() => undefined)
  }

  private onEngineEvent(ev: EngineEvent): void {
    if (ev.type === 'run.batch') {
      this.pendingLosses.push({ step: ev.step, epoch: ev.epoch, loss: ev.loss })
      if (this.pendingLosses.length >= 20) this.flushLosses(ev.runId)
      this.events.publish({ type: 'run.batch', runId: ev.runId, epoch: ev.epoch, step: ev.step, batch: ev.batch, batches: ev.batches, loss: ev.loss, imagesPerSec: ev.imagesPerSec })
    } else if (ev.type === 'run.epoch') {
      this.flushLosses(ev.runId)
      if (!this.owns(ev.runId)) return
      if (ev.imagesPerSec) runs.recordThroughput(this.db, ev.runId, ev.imagesPerSec)
      runs.recordEpoch(this.db, ev.runId, ev.metrics, ev.checkpoint?.epoch)
      // the engine moved the checkpoint before this one to checkpoint.prev/: the store keeps both hashes
      if (ev.checkpoint) runs.recordCheckpoint(this.db, ev.runId, ev.checkpoint, checkpointWeightsPath(this.runDir(ev.runId), 'previous'))
      this.events.publish({ type: 'run.epoch', runId: ev.runId, metrics: ev.metrics })
    } else if (ev.type === 'run.stage') {
      this.events.publish(ev)
    }
  }
}
