/**
 * Worker threads for the data pipeline: each runs dataWorker.ts, a real module importing batchIo.ts /
 * imageOps.ts (and sharp) like any other file. `dataWorkerEntry()` finds it: the built out/main/dataWorker.js
 * next to the running bundle (electron-vite build: Electron's utilityProcess, serve mode, the built CLI), else
 * the TypeScript source, loaded through tsx (the CLI from source, tests, scripts).
 * Each worker reports imageOps' selfTest checksum, which must equal the main thread's, before it is used;
 * if a worker cannot start, fails the check, or dies, the loader falls back to decoding in the main thread
 * (sharp still decodes on libuv threads there; only augmentation then shares the main thread).
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { selfTest } from './imageOps'
import type { BatchResult, PipelineSpec, SampleJob, WorkerHello, WorkerReply, WorkerRequest } from './batchIo'

/** The data worker's build entry name (electron.vite.config.ts) and source file. */
export const DATA_WORKER = 'dataWorker'

export interface DataWorkerEntry {
  file: string
  /** a .ts file: the worker registers tsx before loading it */
  fromSource: boolean
}

/**
 * Where the data worker is, seen from the directory of the running code (`here`): `dataWorker.js` beside it
 * or, when this code was bundled into out/main/chunks/, one level up; else `dataWorker.ts` beside it (source).
 * Throws naming every path it tried.
 */
export function dataWorkerEntry(here: string = path.dirname(fileURLToPath(import.meta.url))): DataWorkerEntry {
  const built = [path.join(here, `${DATA_WORKER}.js`), path.join(here, '..', `${DATA_WORKER}.js`)]
  for (const file of built) if (fs.existsSync(file)) return { file, fromSource: false }
  const source = path.join(here, `${DATA_WORKER}.ts`)
  if (fs.existsSync(source)) return { file: source, fromSource: true }
  throw new Error(`data worker not found: none of ${[...built, source].join(', ')} exists (run \`npx electron-vite build\`?)`)
}

/** tsx's CommonJS API (its require hook), resolved from this file: a worker's own lookup would start from the
 *  current folder, which fails when the CLI runs from source outside the project. */
function tsxRequireApi(): string {
  try {
    return createRequire(import.meta.url).resolve('tsx/cjs/api')
  } catch (e) {
    throw new Error(`data worker: running from source needs tsx (${(e as Error).message})`, { cause: e })
  }
}

/** The parent's Node options without tsx's hooks (`tsx ...`, `node --import tsx ...`): Node 20 does not apply a
 *  worker's `--import tsx` to the worker's own modules, so a worker would only pay for loading tsx twice. */
export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const isTsx = (v: string): boolean => v === 'tsx' || v.startsWith('tsx/') || /[/\\]node_modules[/\\]tsx[/\\]/.test(v)
  const out: string[] = []
  for (let i = 0; i < parent.length; i++) {
    const m = /^--(?:import|require|loader|experimental-loader)(?:=(.*))?$/.exec(parent[i])
    if (!m) out.push(parent[i])
    else if (m[1] !== undefined) {
      if (!isTsx(m[1])) out.push(parent[i])
    } else {
      const value = parent[++i] ?? ''
      if (!isTsx(value)) out.push(parent[i - 1], value)
    }
  }
  return out
}

/**
 * Start one worker on `entry`. A .ts entry is loaded through tsx's require hook, registered inside the worker:
 * Node 20 does not apply an `--import tsx` in a worker's execArgv to the worker's own modules, and tsx's ESM
 * hooks (module.register) would start a second, hooks thread per worker (about twice the start-up time). The
 * worker's modules then run as CommonJS compiled by tsx, so they must not use top-level await (the tests run this path).
 */
function spawnWorker(entry: DataWorkerEntry): Worker {
  const execArgv = workerExecArgv()
  if (!entry.fromSource) return new Worker(entry.file, { execArgv })
  const boot = `require(${JSON.stringify(tsxRequireApi())}).register(); require(${JSON.stringify(entry.file)})`
  return new Worker(boot, { eval: true, execArgv })
}

export interface PoolOptions {
  /** start-up budget per worker (default 20 s) */
  timeoutMs?: number
  /** the worker module (default: dataWorkerEntry()) */
  entry?: DataWorkerEntry
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
  static async start(n: number, opts: PoolOptions = {}): Promise<DataWorkerPool> {
    const timeoutMs = opts.timeoutMs ?? 20_000
    const pool = new DataWorkerPool()
    const expected = selfTest()
    try {
      const entry = opts.entry ?? dataWorkerEntry()
      await Promise.all(
        Array.from({ length: n }, () => {
          const worker = spawnWorker(entry)
          const slot: Slot = { worker, pending: new Map() }
          pool.slots.push(slot)
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`data worker did not start within ${timeoutMs} ms`)), timeoutMs)
            worker.once('error', (e) => {
              clearTimeout(timer)
              reject(e)
            })
            worker.once('exit', (code) => {
              clearTimeout(timer)
              reject(new Error(`data worker exited (code ${code}) before it started`))
            })
            worker.once('message', (m: Partial<WorkerHello> | undefined) => {
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
    slot.worker.on('message', (m: WorkerReply) => {
      const p = slot.pending.get(m.id)
      if (!p) return
      slot.pending.delete(m.id)
      if (m.ok) p.resolve(m.result)
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
      const msg: WorkerRequest = { id, spec, jobs }
      slot.worker.postMessage(msg)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    for (const slot of this.slots) for (const p of slot.pending.values()) p.reject(new Error('data worker pool closed'))
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => 0)))
    this.slots = []
  }
}
