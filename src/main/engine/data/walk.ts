/**
 * File-system walks written once, run two ways.
 *
 * A walk is a generator that asks for batches of file-system work (FsOp) and gets the results back. runSync
 * answers with the *Sync calls (the engine, scripts, old callers); runAsync answers with fs.promises on libuv's
 * threads and hands the event loop back every few milliseconds, so a walk over a huge or slow tree (a dataset
 * import, a preview in the main process) never stalls timers, IPC or heartbeats. Both give identical results.
 */
import fs from 'node:fs'
import { sep } from 'node:path'

/** What lstat() / stat() saw. */
export type EntryKind = 'dir' | 'file' | 'link' | 'fifo' | 'socket' | 'device' | 'other'

export interface FsFail {
  error: { code: string; message: string }
}
export interface FsProbe {
  kind: EntryKind
  size: number
}

/** One batch of file-system work a walk asks for. */
export type FsOp =
  /** names in `dir` (unsorted, without . and ..): at most max + 1 are read, so more than max means "too many" */
  | { op: 'list'; dir: string; max: number }
  | { op: 'lstat'; paths: string[] }
  | { op: 'stat'; paths: string[] }
  | { op: 'realpath'; paths: string[] }
  /** sorted copy, code-point order (byName) */
  | { op: 'sort'; items: string[] }
  /** a chance to give the event loop back (runAsync); nothing in runSync */
  | { op: 'tick' }

export type ListResult = { names: string[] } | FsFail
export type ProbeResult = FsProbe | FsFail
export type RealResult = { real: string } | FsFail

export type Walk<T> = Generator<FsOp, T, unknown>

/** Default cap on the directory entries one walk reads (files, folders, links, dotfiles alike). */
export const DEFAULT_MAX_ENTRIES = 2_000_000

/** Longest stretch runAsync keeps the event loop (ms). */
export const SLICE_MS = 4

/** A walk met more directory entries than its cap allows. */
export class TooManyEntriesError extends Error {
  constructor(
    readonly root: string,
    readonly folder: string,
    readonly limit: number,
  ) {
    super(
      `${root}: more than ${limit.toLocaleString('en-US')} entries (files and folders) under the dataset folder; ` +
        `the walk stopped in ${folder}. Import a smaller folder (or raise maxEntries).`,
    )
    this.name = 'TooManyEntriesError'
  }
}

/** Code-point order, like Python's sorted() (locale-independent, deterministic). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** `p` is `root` or lies under it (both canonical: realpaths). */
export function isInside(p: string, root: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep)
}

/** Ask the runner for one batch (use with yield*). */
export function* ask<T>(op: FsOp): Walk<T> {
  return (yield op) as T
}

function fail(e: unknown): FsFail {
  const err = e as NodeJS.ErrnoException
  return { error: { code: err?.code ?? '', message: err?.message ?? String(e) } }
}

function probe(s: fs.Stats): FsProbe {
  const kind: EntryKind = s.isDirectory()
    ? 'dir'
    : s.isFile()
      ? 'file'
      : s.isSymbolicLink()
        ? 'link'
        : s.isFIFO()
          ? 'fifo'
          : s.isSocket()
            ? 'socket'
            : s.isCharacterDevice() || s.isBlockDevice()
              ? 'device'
              : 'other'
  return { kind, size: s.size }
}

// ------------------------------------------------------------------ synchronous runner

function listSync(dir: string, max: number): ListResult {
  let d: fs.Dir
  try {
    d = fs.opendirSync(dir)
  } catch (e) {
    return fail(e)
  }
  const names: string[] = []
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      names.push(e.name)
      if (names.length > max) break
    }
  } catch (e) {
    return fail(e)
  } finally {
    d.closeSync()
  }
  return { names }
}

function doSync(op: FsOp): unknown {
  switch (op.op) {
    case 'list':
      return listSync(op.dir, op.max)
    case 'lstat':
    case 'stat':
      return op.paths.map((p) => {
        try {
          return probe(op.op === 'lstat' ? fs.lstatSync(p) : fs.statSync(p))
        } catch (e) {
          return fail(e)
        }
      })
    case 'realpath':
      return op.paths.map((p) => {
        try {
          return { real: fs.realpathSync(p) }
        } catch (e) {
          return fail(e)
        }
      })
    case 'sort':
      return [...op.items].sort(byName)
    case 'tick':
      return undefined
  }
}

export function runSync<T>(walk: Walk<T>): T {
  let r = walk.next()
  while (!r.done) r = walk.next(doSync(r.value))
  return r.value
}

// ------------------------------------------------------------------ asynchronous runner

/** Hands the event loop back (setImmediate) once the current slice is over. */
export class Yielder {
  private last = performance.now()
  constructor(private readonly sliceMs = SLICE_MS) {}
  due(): boolean {
    return performance.now() - this.last >= this.sliceMs
  }
  async yield(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r))
    this.last = performance.now()
  }
  async maybe(): Promise<void> {
    if (this.due()) await this.yield()
  }
}

/** Parallel stat/realpath calls in flight per batch (libuv runs 4 at a time by default). */
const FS_CONCURRENCY = 4

async function mapFs<T>(paths: string[], clock: Yielder, fn: (p: string) => Promise<T>): Promise<(T | FsFail)[]> {
  const out = new Array<T | FsFail>(paths.length)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++
      try {
        out[i] = await fn(paths[i])
      } catch (e) {
        out[i] = fail(e)
      }
      if ((i & 255) === 0 && clock.due()) await clock.yield()
    }
  }
  await Promise.all(Array.from({ length: Math.min(FS_CONCURRENCY, paths.length) }, lane))
  return out
}

async function listAsync(dir: string, max: number, clock: Yielder): Promise<ListResult> {
  let d: fs.Dir
  try {
    d = await fs.promises.opendir(dir, { bufferSize: 256 })
  } catch (e) {
    return fail(e)
  }
  const names: string[] = []
  try {
    // leaving the loop early closes the handle
    for await (const e of d) {
      names.push(e.name)
      if (names.length > max) break
      if ((names.length & 1023) === 0 && clock.due()) await clock.yield()
    }
  } catch (e) {
    return fail(e)
  }
  return { names }
}

/**
 * Stable merge sort that gives the event loop back between slices: sorted runs of 4,096 (native sort, about
 * a millisecond each), then pairwise merges. Small arrays are sorted in one go.
 */
export async function sortYielding<T>(items: readonly T[], cmp: (a: T, b: T) => number, clock = new Yielder()): Promise<T[]> {
  const RUN = 4096
  if (items.length <= RUN) return [...items].sort(cmp)
  let runs: T[][] = []
  for (let i = 0; i < items.length; i += RUN) {
    runs.push(items.slice(i, i + RUN).sort(cmp))
    await clock.maybe()
  }
  while (runs.length > 1) {
    const merged: T[][] = []
    for (let r = 0; r < runs.length; r += 2) {
      if (r + 1 === runs.length) {
        merged.push(runs[r])
        continue
      }
      const a = runs[r]
      const b = runs[r + 1]
      const out = new Array<T>(a.length + b.length)
      let x = 0
      let y = 0
      let k = 0
      while (x < a.length && y < b.length) {
        out[k++] = cmp(a[x], b[y]) <= 0 ? a[x++] : b[y++]
        if ((k & 4095) === 0 && clock.due()) await clock.yield()
      }
      while (x < a.length) out[k++] = a[x++]
      while (y < b.length) out[k++] = b[y++]
      merged.push(out)
      await clock.maybe()
    }
    runs = merged
  }
  return runs[0]
}

async function doAsync(op: FsOp, clock: Yielder): Promise<unknown> {
  switch (op.op) {
    case 'list':
      return listAsync(op.dir, op.max, clock)
    case 'lstat':
      return mapFs(op.paths, clock, async (p) => probe(await fs.promises.lstat(p)))
    case 'stat':
      return mapFs(op.paths, clock, async (p) => probe(await fs.promises.stat(p)))
    case 'realpath':
      return mapFs(op.paths, clock, async (p) => ({ real: await fs.promises.realpath(p) }))
    case 'sort':
      return sortYielding(op.items, byName, clock)
    case 'tick':
      return undefined
  }
}

/** Runs a walk without holding the event loop for more than about SLICE_MS at a time. */
export async function runAsync<T>(walk: Walk<T>, clock = new Yielder()): Promise<T> {
  let r = walk.next()
  while (!r.done) {
    const v = await doAsync(r.value, clock)
    await clock.maybe()
    r = walk.next(v)
  }
  return r.value
}
