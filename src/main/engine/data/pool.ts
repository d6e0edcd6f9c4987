/**
 * Worker threads for the data pipeline.
 *
 * Choice: an inline worker (`new Worker(source, { eval: true })`) whose source is assembled at run time from
 * `fn.toString()` of the worker-safe kernels (kernel-image.ts, kernel-io.ts). This needs no separate worker
 * file, so it works the same under vitest / tsx (TS compiled on the fly) and in the electron-vite bundle.
 * Each worker proves its copy is intact (kSelfTest checksum equal to the main thread's) before it is used;
 * if a worker cannot start, fails the check, or dies, the loader falls back to decoding in the main thread
 * (sharp still decodes on libuv threads there; only augmentation then shares the main thread).
 */
import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import * as imageKernels from './kernel-image'
import * as ioKernels from './kernel-io'
import type { BatchResult, PipelineSpec, SampleJob } from './kernel-io'

/** The name a function is declared with in its source text (a bundler may have renamed it). */
function declaredName(fn: (...args: never[]) => unknown): string {
  const m = /^\s*(?:async\s+)?function\s*\*?\s*([\w$]+)\s*\(/.exec(fn.toString())
  if (!m) throw new Error(`data worker: kernel ${fn.name} is not a function declaration`)
  return m[1]
}

function functionsOf(mod: Record<string, unknown>): ((...args: never[]) => unknown)[] {
  return Object.values(mod).filter((v): v is (...args: never[]) => unknown => typeof v === 'function')
}

function resolveSharp(): string {
  try {
    return createRequire(import.meta.url).resolve('sharp')
  } catch {
    return 'sharp'
  }
}

/** The complete source of a data worker. */
export function workerSource(): string {
  const fns = [...functionsOf(imageKernels), ...functionsOf(ioKernels)]
  const name = (fn: (...args: never[]) => unknown): string => declaredName(fn)
  const img = ['kToFloatRgb', 'kToUint8', 'kApplyOps', 'kNormalizeInto', 'kRng']
    .map((k) => `${k}: ${name((imageKernels as unknown as Record<string, (...a: never[]) => unknown>)[k])}`)
    .join(', ')
  return `'use strict';
var __name = function (f) { return f; };
${fns.map((f) => f.toString()).join('\n\n')}
const { parentPort, workerData } = require('node:worker_threads');
const sharp = require(workerData.sharpPath);
sharp.cache(false);
const deps = { sharp, fs: require('node:fs'), crypto: require('node:crypto'), img: { ${img} } };
parentPort.on('message', (msg) => {
  ${name(ioKernels.kProcessBatch)}(deps, msg.spec, msg.jobs).then(
    (r) => parentPort.postMessage({ id: msg.id, ok: true, result: r }, [r.x.buffer, r.y.buffer, r.index.buffer]),
    (e) => parentPort.postMessage({ id: msg.id, ok: false, error: String((e && e.stack) || e) }),
  );
});
parentPort.postMessage({ ready: true, selfTest: ${name(imageKernels.kSelfTest)}() });
`
}

interface Pending {
  resolve(r: BatchResult): void
  reject(e: Error): void
}

interface Slot {
  worker: Worker
  pending: Map<number, Pending>
}

/** Raised when a worker died; the caller may redo the batch elsewhere. */
export class WorkerDiedError extends Error {}

export class DataWorkerPool {
  private slots: Slot[] = []
  private nextId = 1
  private closed = false
  /** set when a worker died: the pool must not be used any more */
  broken: string | null = null

  private constructor() {}

  /** Start `n` workers and wait for each to pass its self-test; rejects (and cleans up) otherwise. */
  static async start(n: number, timeoutMs = 20_000): Promise<DataWorkerPool> {
    const pool = new DataWorkerPool()
    const source = workerSource()
    const expected = imageKernels.kSelfTest()
    const sharpPath = resolveSharp()
    try {
      await Promise.all(
        Array.from({ length: n }, () => {
          const worker = new Worker(source, { eval: true, workerData: { sharpPath } })
          const slot: Slot = { worker, pending: new Map() }
          pool.slots.push(slot)
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`data worker did not start within ${timeoutMs} ms`)), timeoutMs)
            worker.once('error', (e) => {
              clearTimeout(timer)
              reject(e)
            })
            worker.once('message', (m: { ready?: boolean; selfTest?: number }) => {
              clearTimeout(timer)
              if (m?.ready && m.selfTest === expected) resolve()
              else reject(new Error(`data worker self-test failed (got ${m?.selfTest}, expected ${expected})`))
            })
          })
        }),
      )
    } catch (e) {
      await pool.close()
      throw e
    }
    for (const slot of pool.slots) pool.wire(slot)
    return pool
  }

  private wire(slot: Slot): void {
    slot.worker.on('message', (m: { id: number; ok: boolean; result?: BatchResult; error?: string }) => {
      const p = slot.pending.get(m.id)
      if (!p) return
      slot.pending.delete(m.id)
      if (m.ok) p.resolve(m.result!)
      else p.reject(new Error(m.error))
    })
    const die = (why: string): void => {
      if (this.closed) return
      this.broken = why
      for (const p of slot.pending.values()) p.reject(new WorkerDiedError(why))
      slot.pending.clear()
    }
    slot.worker.on('error', (e) => die(`data worker crashed: ${e.message}`))
    slot.worker.on('exit', (code) => die(`data worker exited (code ${code})`))
  }

  get size(): number {
    return this.slots.length
  }

  /** Process one batch on the least busy worker. */
  run(spec: PipelineSpec, jobs: SampleJob[]): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error('data worker pool is closed'))
    if (this.broken) return Promise.reject(new WorkerDiedError(this.broken))
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
    const id = this.nextId++
    return new Promise<BatchResult>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, spec, jobs })
    })
  }

  async close(): Promise<void> {
    this.closed = true
    for (const slot of this.slots) for (const p of slot.pending.values()) p.reject(new Error('data worker pool closed'))
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => 0)))
    this.slots = []
  }
}
