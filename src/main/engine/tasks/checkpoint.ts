/**
 * Resumable run state on disk. `<runDir>/checkpoint/` holds the newest checkpoint, `<runDir>/checkpoint.prev/`
 * the one before it: weights.safetensors (current weights, the best epoch's weights under `best.`, momentum
 * buffers under `momentum.`; its metadata carries the sha256 of state.json) and state.json (epoch, RNG,
 * optimiser scalars, history). Files are 0600, folders 0700.
 *
 * Writing (saveCheckpoint): both files go into `checkpoint.tmp-<pid>`, are fsynced with that folder, then
 * `checkpoint` becomes `checkpoint.prev` (the older `checkpoint.prev` moves to `checkpoint.old-<pid>`), the
 * temporary folder becomes `checkpoint`, the run folder is fsynced and the old one removed. A kill at any
 * point leaves at least one complete checkpoint under one of the two names.
 *
 * Resuming (chooseCheckpoint, called by the job runner in main before it starts the run): the newest
 * checkpoint is used when its weights hash to a sha256 the store recorded for the run, state.json hashes
 * to what the weights' metadata says and the epochs agree; otherwise the previous one is checked the same
 * way, promoted to `checkpoint` and the epochs after it run again; with neither the run starts over.
 *
 * No tfjs here (main imports this file): safetensors encoding is plain byte work.
 */
import { createHash } from 'node:crypto'
import { createReadStream, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { encodeSafetensors, readSafetensors } from '../io/safetensors'
import type { StateDict } from '../io/types'
import type { TrainState } from '../train/loop'

const BEST = 'best.'
const MOMENTUM = 'momentum.'
const WEIGHTS = 'weights.safetensors'
const STATE = 'state.json'
/** leftovers of a write that was killed: `checkpoint.tmp-<pid>` and `checkpoint.old-<pid>` */
const LEFTOVER = /^checkpoint\.(tmp|old)-/

export interface SavedCheckpoint {
  epoch: number
  path: string
  sha256: string
  bytes: number
}

export function checkpointDir(runDir: string): string {
  return join(runDir, 'checkpoint')
}

/** The checkpoint before the newest one, kept until the next one is in place. */
export function previousCheckpointDir(runDir: string): string {
  return join(runDir, 'checkpoint.prev')
}

/** Where the newest / previous checkpoint's weights live (the paths the store records their sha256 under). */
export function checkpointWeightsPath(runDir: string, which: 'newest' | 'previous' = 'newest'): string {
  return join(which === 'newest' ? checkpointDir(runDir) : previousCheckpointDir(runDir), WEIGHTS)
}

// ---- durable file operations (also used by exports) ----

/** Writes `data` to a new file (mode `mode` before the umask) and fsyncs it before returning. */
export function writeFileDurable(path: string, data: Uint8Array | string, mode = 0o666): void {
  const fd = openSync(path, 'w', mode)
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    let off = 0
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** fsyncs an existing file. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** fsyncs a folder, so renames and creations in it survive a power cut (a no-op where folders cannot be opened, e.g. Windows). */
export function fsyncDir(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return
  }
  try {
    fsyncSync(fd)
  } catch {
    // some file systems refuse fsync on a folder (EINVAL): nothing more can be done there
  } finally {
    closeSync(fd)
  }
}

function sha256(buf: Uint8Array | string): string {
  return createHash('sha256').update(buf).digest('hex')
}

/** Removes what a killed checkpoint write left behind; returns the names removed. */
export function cleanCheckpointLeftovers(runDir: string): string[] {
  if (!existsSync(runDir)) return []
  const gone = readdirSync(runDir).filter((n) => LEFTOVER.test(n))
  for (const n of gone) rmSync(join(runDir, n), { recursive: true, force: true })
  return gone
}

/** Removes every checkpoint of a run (a run that starts over). */
export function clearCheckpoints(runDir: string): void {
  cleanCheckpointLeftovers(runDir)
  rmSync(checkpointDir(runDir), { recursive: true, force: true })
  rmSync(previousCheckpointDir(runDir), { recursive: true, force: true })
}

/** A finished run keeps its newest checkpoint only. */
export function dropPreviousCheckpoint(runDir: string): void {
  rmSync(previousCheckpointDir(runDir), { recursive: true, force: true })
}

export function saveCheckpoint(runDir: string, state: TrainState): SavedCheckpoint {
  const tensors: StateDict = new Map()
  for (const [k, t] of state.weights) tensors.set(k, t)
  if (state.best) for (const [k, t] of state.best.weights) tensors.set(BEST + k, t)
  for (const [k, b] of Object.entries(state.optimizer.buffers)) tensors.set(MOMENTUM + k, { shape: b.shape, dtype: 'float32', data: b.data })
  const json = JSON.stringify({
    version: 1,
    epochsDone: state.epochsDone,
    rng: state.rng,
    history: state.history,
    best: state.best ? { epoch: state.best.epoch, idValAccuracy: state.best.idValAccuracy } : null,
    optimizer: { momentum: state.optimizer.momentum, steps: state.optimizer.steps, groups: state.optimizer.groups },
  })
  // the weights' metadata names state.json's hash, so the one sha256 the store records covers both files
  const buf = encodeSafetensors(tensors, { format: 'daft-checkpoint', epochs_done: String(state.epochsDone), state_sha256: sha256(json) })
  const final = checkpointDir(runDir)
  const prev = previousCheckpointDir(runDir)
  const tmp = `${final}.tmp-${process.pid}`
  const old = `${final}.old-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true, mode: 0o700 })
  writeFileDurable(join(tmp, WEIGHTS), buf, 0o600)
  writeFileDurable(join(tmp, STATE), json, 0o600)
  fsyncDir(tmp)
  if (existsSync(final)) {
    rmSync(old, { recursive: true, force: true })
    if (existsSync(prev)) renameSync(prev, old)
    renameSync(final, prev)
  }
  renameSync(tmp, final)
  fsyncDir(runDir)
  rmSync(old, { recursive: true, force: true })
  const path = join(final, WEIGHTS)
  return { epoch: state.epochsDone, path, sha256: sha256(buf), bytes: statSync(path).size }
}

/** Reads `dir/state.json` and `dir/weights.safetensors` (the newest checkpoint unless `dir` says otherwise). */
export function loadCheckpointState(runDir: string, dir = checkpointDir(runDir)): TrainState | null {
  if (!existsSync(join(dir, STATE))) return null
  const text = readFileSync(join(dir, STATE), 'utf8')
  const file = join(dir, WEIGHTS)
  const { stateDict, metadata } = readSafetensors(file)
  if (metadata.state_sha256 && metadata.state_sha256 !== sha256(text)) throw new Error(`${join(dir, STATE)}: does not match the checkpoint's weights (sha256 differs); the checkpoint is corrupt`)
  const json = JSON.parse(text)
  const weights: StateDict = new Map()
  const best: StateDict = new Map()
  const buffers: TrainState['optimizer']['buffers'] = {}
  for (const [k, t] of stateDict) {
    if (k.startsWith(BEST)) best.set(k.slice(BEST.length), t)
    else if (k.startsWith(MOMENTUM)) buffers[k.slice(MOMENTUM.length)] = { shape: t.shape, data: t.data as Float32Array }
    else weights.set(k, t)
  }
  return {
    epochsDone: json.epochsDone,
    weights,
    optimizer: { ...json.optimizer, buffers },
    rng: json.rng,
    history: json.history,
    best: json.best ? { ...json.best, weights: best } : null,
  }
}

// ---- verification before a resume (main process) ----

export interface CheckpointCheck {
  ok: boolean
  /** finished epochs the checkpoint holds (when ok) */
  epochsDone?: number
  sha256?: string
  bytes?: number
  /** why it cannot be used (when not ok) */
  problem?: string
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** The `__metadata__` of a safetensors file, reading its header only. */
function safetensorsMetadata(path: string): Record<string, string> {
  const fd = openSync(path, 'r')
  try {
    const len = Buffer.alloc(8)
    if (readSync(fd, len, 0, 8, 0) !== 8) throw new Error('truncated')
    const n = Number(len.readBigUInt64LE(0))
    if (n > 100_000_000 || n + 8 > statSync(path).size) throw new Error('implausible header length')
    const head = Buffer.alloc(n)
    if (readSync(fd, head, 0, n, 8) !== n) throw new Error('truncated')
    const meta = (JSON.parse(head.toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__
    return meta ?? {}
  } finally {
    closeSync(fd)
  }
}

/**
 * Is the checkpoint in `dir` whole and one the store knows? `known`: the sha256 values the store recorded
 * for the run's checkpoints. Never throws.
 */
export async function verifyCheckpoint(dir: string, known: ReadonlySet<string>): Promise<CheckpointCheck> {
  const wFile = join(dir, WEIGHTS)
  const sFile = join(dir, STATE)
  if (!existsSync(dir)) return { ok: false, problem: 'missing' }
  if (!existsSync(wFile) || !existsSync(sFile)) return { ok: false, problem: `incomplete (${!existsSync(wFile) ? WEIGHTS : STATE} is missing)` }
  try {
    const hash = await hashFile(wFile)
    if (!known.has(hash)) return { ok: false, problem: 'corrupt (its weights do not match the sha256 recorded in the store)' }
    const meta = safetensorsMetadata(wFile)
    const text = readFileSync(sFile, 'utf8')
    if (meta.state_sha256 && meta.state_sha256 !== sha256(text)) return { ok: false, problem: `corrupt (${STATE} does not match the sha256 in its weights)` }
    const epochsDone = (JSON.parse(text) as { epochsDone?: unknown }).epochsDone
    if (typeof epochsDone !== 'number' || !Number.isInteger(epochsDone) || epochsDone < 0) return { ok: false, problem: `corrupt (${STATE} has no epoch count)` }
    if (meta.epochs_done !== undefined && Number(meta.epochs_done) !== epochsDone) return { ok: false, problem: `corrupt (${STATE} and the weights disagree on the epoch)` }
    return { ok: true, epochsDone, sha256: hash, bytes: statSync(wFile).size }
  } catch (e) {
    return { ok: false, problem: `unreadable (${(e as Error).message})` }
  }
}

export interface CheckpointChoice {
  /** 'newest': resume from it; 'previous': the newest was unusable, the previous one is now `checkpoint/`; null: start over */
  use: 'newest' | 'previous' | null
  /** finished epochs of the checkpoint resumed from */
  epochsDone: number | null
  /** the resumed checkpoint's weights (now under `checkpoint/`) */
  sha256?: string
  bytes?: number
  /** what was wrong with the newest (and the previous) checkpoint, for the run's note */
  problems: string[]
  /** leftovers of killed writes that were removed */
  cleaned: string[]
}

/**
 * Picks the checkpoint a run resumes from (see the file comment), and arranges the folder so the engine
 * finds it under `checkpoint/`: an unusable newest checkpoint is deleted and the previous one renamed in
 * its place; with no usable checkpoint both are deleted.
 */
export async function chooseCheckpoint(runDir: string, known: ReadonlySet<string>): Promise<CheckpointChoice> {
  const cleaned = cleanCheckpointLeftovers(runDir)
  const newest = await verifyCheckpoint(checkpointDir(runDir), known)
  if (newest.ok) return { use: 'newest', epochsDone: newest.epochsDone!, sha256: newest.sha256, bytes: newest.bytes, problems: [], cleaned }
  const problems = [`the newest checkpoint is ${newest.problem}`]
  const previous = await verifyCheckpoint(previousCheckpointDir(runDir), known)
  if (previous.ok) {
    const bad = `${checkpointDir(runDir)}.old-${process.pid}`
    rmSync(bad, { recursive: true, force: true })
    if (existsSync(checkpointDir(runDir))) renameSync(checkpointDir(runDir), bad)
    renameSync(previousCheckpointDir(runDir), checkpointDir(runDir))
    fsyncDir(runDir)
    rmSync(bad, { recursive: true, force: true })
    return { use: 'previous', epochsDone: previous.epochsDone!, sha256: previous.sha256, bytes: previous.bytes, problems, cleaned }
  }
  problems.push(`the previous one is ${previous.problem}`)
  clearCheckpoints(runDir)
  return { use: null, epochsDone: null, problems, cleaned }
}
