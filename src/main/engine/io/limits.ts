/**
 * Budgets for reading untrusted model files: whatever a file declares (shapes, strides, sizes, shared
 * references), the readers never allocate or work more than a small multiple of the file's own size,
 * and never read anything but regular files. Each refusal is a CheckpointError naming the file.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs'
import { CheckpointError } from './types'

const MiB = 1024 * 1024

export const LIMITS = {
  /** largest file (or zip entry) read into memory at once: what one Node buffer / typed array holds */
  maxFileBytes: 2 ** 31 - 1,
  /** model.json / metadata.json */
  maxJsonBytes: 64 * MiB,
  /** a deflated zip entry may inflate to at most this many times the archive's size */
  inflateRatio: 32,
  /** a tensor view may repeat storage elements (stride 0, overlapping strides) up to this many elements */
  broadcastElements: 1 << 18,
  /** all tensor views together: at most this many times the elements of the file's storages ... */
  viewFactor: 4,
  /** ... plus this many elements */
  viewSlackElements: 1 << 20,
  maxRank: 64,
  /** largest single dimension (tfjs shapes are int32) */
  maxDim: 2 ** 31 - 1,
  /** the classifier head: at most this many classes */
  maxClasses: 100_000,
  /** values (container cells) an unpickled object may hold: this many per byte of the file ... */
  pickleValuesPerByte: 4,
  /** ... plus this many */
  pickleValuesSlack: 1 << 16,
  /** ... and never more than this many (a state dict of 10,000 tensors needs about 200,000) */
  pickleMaxValues: 4_000_000,
  /** plain metadata beside a state dict, counted with shared references expanded */
  metaValues: 100_000,
  /** nesting depth of an unpickled object */
  maxDepth: 200,
} as const

export function fileKind(st: Stats): string {
  if (st.isFile()) return 'regular file'
  if (st.isDirectory()) return 'directory'
  if (st.isFIFO()) return 'FIFO'
  if (st.isCharacterDevice()) return 'character device'
  if (st.isBlockDevice()) return 'block device'
  if (st.isSocket()) return 'socket'
  if (st.isSymbolicLink()) return 'symbolic link'
  return 'special file'
}

export interface RegularFileOptions {
  /** the file the error is reported against (default: the file itself) */
  errFile?: string
  /** how the file is named in messages, e.g. "weight shard w.bin" (default: "file") */
  what?: string
  /** refuse files larger than this */
  maxBytes?: number
}

/**
 * Open a file for reading only if it is a regular file: FIFOs, devices, sockets and directories are refused
 * before they are opened (stat), and again on the open descriptor (fstat), which is opened non-blocking so a
 * FIFO swapped in between cannot block. Returns the descriptor and the size; the caller closes it.
 */
export function openRegularFile(file: string, opts: RegularFileOptions = {}): { fd: number; size: number } {
  const errFile = opts.errFile ?? file
  const what = opts.what ?? 'file'
  const maxBytes = opts.maxBytes ?? LIMITS.maxFileBytes
  const check = (st: Stats): void => {
    if (!st.isFile()) throw new CheckpointError(errFile, `${what} is not a regular file (${fileKind(st)}): ${file}`)
    if (st.size > maxBytes) throw new CheckpointError(errFile, `${what} is ${st.size} bytes, more than the ${maxBytes} bytes allowed: ${file}`)
  }
  check(statSync(file))
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const st = fstatSync(fd)
    check(st)
    return { fd, size: st.size }
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

/** Read at most `n` bytes from the start of an open file (fewer if it ends first). */
export function readAtMost(fd: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  let got = 0
  while (got < n) {
    const k = readSync(fd, b, got, n - got, got)
    if (k <= 0) break
    got += k
  }
  return got === n ? b : b.subarray(0, got)
}

/** A whole regular file, read with a bounded read (see openRegularFile). */
export function readRegularFile(file: string, opts: RegularFileOptions = {}): Buffer {
  const { fd, size } = openRegularFile(file, opts)
  try {
    return readAtMost(fd, size)
  } finally {
    closeSync(fd)
  }
}

/** Product of a shape's dimensions; Infinity when it passes 2^53 (never NaN: any zero gives 0). */
export function shapeNumel(shape: readonly number[]): number {
  if (shape.some((d) => d === 0)) return 0
  let n = 1
  for (const d of shape) {
    n *= d
    if (n > Number.MAX_SAFE_INTEGER) return Infinity
  }
  return n
}

/** Non-negative integer dimensions within LIMITS.maxDim, rank within LIMITS.maxRank; else a message. */
export function shapeProblem(shape: unknown): string | undefined {
  if (!Array.isArray(shape)) return 'shape is not a list'
  if (shape.length > LIMITS.maxRank) return `rank ${shape.length} exceeds ${LIMITS.maxRank}`
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return `dimension ${String(d)} is not a non-negative integer`
    if (d > LIMITS.maxDim) return `dimension ${d} exceeds ${LIMITS.maxDim}`
  }
  return undefined
}

/**
 * Short text for any unpickled value, for keys and messages: String() of nested (possibly shared) lists
 * would join every element and could take time and memory exponential in the file size.
 */
export function describe(v: unknown, max = 100): string {
  if (typeof v === 'string') return v.length > max ? `${v.slice(0, max - 3)}...` : v
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === null || v === undefined) return String(v)
  if (Array.isArray(v)) return `<tuple of ${v.length}>`
  if (v instanceof Map) return `<dict of ${v.size}>`
  if (v instanceof Set) return `<set of ${v.size}>`
  if (v instanceof Uint8Array) return `<bytes of ${v.length}>`
  const kind = (v as { kind?: unknown }).kind
  return typeof kind === 'string' ? `<${kind.slice(0, 40)}>` : `<${typeof v}>`
}
