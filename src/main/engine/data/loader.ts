/**
 * Prefetching data loader: shuffles per epoch (seeded), decodes + augments batches ahead of the
 * consumer in worker threads (or in the main thread), and yields NHWC float32 tfjs tensors.
 *
 *   const loader = createLoader({ samples, batchSize: 128, transform, cacheDir, workers: 2 })
 *   for await (const { x, y, index } of loader.epoch(3)) { ...; x.dispose() }
 *   await loader.close()
 *
 * Augmentation randomness is drawn per sample from (seed, epoch, sample index), so a batch is the same
 * whichever worker made it and whether workers are used at all. The consumer owns (and disposes) `x`.
 */
import os from 'node:os'
import * as tf from '@tensorflow/tfjs'
import { isRandomOp, resolveNormalize, transformOutputSize, validateTransform, type TransformConfig } from '../../../shared/datasets'
import { fork, seedState } from '../../../shared/random'
import { DEFAULT_PIXEL_LIMIT } from './decode'
import { processBatch, type BatchFailure, type BatchResult, type PipelineSpec, type SampleJob } from './batchIo'
import { DataWorkerPool, WorkerDiedError } from './pool'

export interface Batch {
  /** NHWC float32, normalised */
  x: tf.Tensor4D
  y: Int32Array
  /** indices into `samples` */
  index: Int32Array
  /** samples of this batch that could not be loaded (left out of x / y) */
  failed: BatchFailure[]
  epoch: number
  batchIndex: number
}

export interface LoaderOptions {
  samples: readonly { path: string; label: number }[]
  batchSize: number
  /** default true */
  shuffle?: boolean
  seed?: number
  /** epoch used by `for await (... of loader)` (default 0) */
  epoch?: number
  transform: TransformConfig
  /** decoded-image cache folder (created on demand); null/undefined = no cache */
  cacheDir?: string | null
  /** worker threads; 0 = decode in the main thread. Default: min(4, cpus - 1), at least 1 */
  workers?: number
  /** drop a last incomplete batch (default false) */
  dropLast?: boolean
  /** batches prepared ahead (default 2 per worker, at least 2) */
  prefetch?: number
  pixelLimit?: number
}

export interface LoaderStats {
  mode: 'workers' | 'in-thread' | 'not-started'
  workers: number
  fallbackReason?: string
  batches: number
  images: number
  failed: number
  cacheHits: number
  cacheMisses: number
  /** time the consumer waited for batches (ms): near 0 when prefetching keeps up */
  waitMs: number
}

export interface DataLoader extends AsyncIterable<Batch> {
  readonly numBatches: number
  readonly spec: PipelineSpec
  /** starts the workers (done implicitly by the first iteration); resolves to the mode in use */
  ready(): Promise<'workers' | 'in-thread'>
  epoch(epoch: number): AsyncIterable<Batch>
  stats(): LoaderStats
  /** every sample that failed so far (path, reason), for the run's report */
  failures(): BatchFailure[]
  close(): Promise<void>
}

/** Split a transform into the cached deterministic prefix and the per-epoch random rest. */
export function compilePipeline(transform: TransformConfig, opts: { cacheDir?: string | null; pixelLimit?: number } = {}): PipelineSpec {
  const errors = validateTransform(transform)
  if (errors.length > 0) throw new Error(`invalid transform: ${errors.join('; ')}`)
  const ops = transform.ops
  let k = 0
  while (k < ops.length && !isRandomOp(ops[k])) k++
  const prefix = ops.slice(0, k)
  const { mean, std } = resolveNormalize(transform.normalize)
  const out = transformOutputSize(ops) ?? [0, 0]
  return {
    prefix,
    random: ops.slice(k),
    mean,
    std,
    outHeight: out[0],
    outWidth: out[1],
    pixelLimit: opts.pixelLimit ?? DEFAULT_PIXEL_LIMIT,
    cacheDir: opts.cacheDir ?? null,
    prefixKey: JSON.stringify({ v: 1, prefix }),
  }
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, os.cpus().length - 1))
}

export function createLoader(opts: LoaderOptions): DataLoader {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`loader: batchSize must be a positive integer (got ${opts.batchSize})`)
  const samples = opts.samples
  const spec = compilePipeline(opts.transform, { cacheDir: opts.cacheDir, pixelLimit: opts.pixelLimit })
  const seed = opts.seed ?? 0
  const shuffle = opts.shuffle ?? true
  const nWorkers = opts.workers ?? defaultWorkerCount()
  const prefetch = opts.prefetch ?? Math.max(2, 2 * nWorkers)
  const numBatches = opts.dropLast ? Math.floor(samples.length / opts.batchSize) : Math.ceil(samples.length / opts.batchSize)

  let pool: DataWorkerPool | null = null
  let starting: Promise<'workers' | 'in-thread'> | null = null
  let closed = false
  const stats: LoaderStats = { mode: 'not-started', workers: 0, batches: 0, images: 0, failed: 0, cacheHits: 0, cacheMisses: 0, waitMs: 0 }
  const allFailures: BatchFailure[] = []

  const ready = (): Promise<'workers' | 'in-thread'> => {
    if (!starting) {
      starting = (async () => {
        if (nWorkers > 0) {
          try {
            pool = await DataWorkerPool.start(nWorkers)
            if (closed) {
              await pool.close()
              pool = null
            } else {
              stats.mode = 'workers'
              stats.workers = pool.size
              return 'workers' as const
            }
          } catch (e) {
            stats.fallbackReason = `worker threads unavailable, decoding in the main thread: ${(e as Error).message}`
          }
        }
        stats.mode = 'in-thread'
        return 'in-thread' as const
      })()
    }
    return starting
  }

  const runBatch = async (jobs: SampleJob[]): Promise<BatchResult> => {
    if (pool && !pool.broken) {
      try {
        return await pool.run(spec, jobs)
      } catch (e) {
        if (!(e instanceof WorkerDiedError)) throw e
        stats.fallbackReason = `${e.message}; continuing in the main thread`
        stats.mode = 'in-thread'
      }
    }
    return processBatch(spec, jobs)
  }

  async function* iterate(epoch: number): AsyncGenerator<Batch> {
    if (closed) throw new Error('loader: closed')
    await ready()
    const n = samples.length
    const order = shuffle ? fork(seed, 'shuffle', epoch).permutation(n) : Int32Array.from({ length: n }, (_, i) => i)
    const jobsOf = (b: number): SampleJob[] => {
      const jobs: SampleJob[] = []
      for (let k = b * opts.batchSize; k < Math.min(n, (b + 1) * opts.batchSize); k++) {
        const i = order[k]
        const s = samples[i]
        jobs.push({ path: s.path, label: s.label, index: i, rng: seedState(seed, 'augment', epoch, i) })
      }
      return jobs
    }
    const queue: Promise<BatchResult>[] = []
    let next = 0
    const launch = (): void => {
      const p = runBatch(jobsOf(next++))
      p.catch(() => undefined) // a consumer that stops early must not leave unhandled rejections
      queue.push(p)
    }
    while (queue.length < prefetch && next < numBatches) launch()
    for (let b = 0; b < numBatches; b++) {
      const t = performance.now()
      const r = await queue.shift()!
      stats.waitMs += performance.now() - t
      if (next < numBatches && !closed) launch()
      stats.cacheHits += r.cacheHits
      stats.cacheMisses += r.cacheMisses
      stats.failed += r.failed.length
      allFailures.push(...r.failed)
      if (r.y.length === 0) continue
      stats.batches++
      stats.images += r.y.length
      const x = tf.tensor4d(r.x, [r.y.length, r.height, r.width, 3], 'float32')
      yield { x, y: r.y, index: r.index, failed: r.failed, epoch, batchIndex: b }
    }
  }

  return {
    numBatches,
    spec,
    ready,
    epoch: (e: number) => ({ [Symbol.asyncIterator]: () => iterate(e) }),
    [Symbol.asyncIterator]: () => iterate(opts.epoch ?? 0),
    stats: () => ({ ...stats }),
    failures: () => [...allFailures],
    close: async () => {
      closed = true
      if (starting) await starting.catch(() => undefined)
      const p = pool
      pool = null
      if (p) await p.close()
    },
  }
}
