/**
 * A SAFE unpickler (protocols 0-5) for PyTorch checkpoints. It never executes anything: GLOBAL /
 * STACK_GLOBAL / INST / OBJ resolve only against an allow-list of callables implemented here in
 * TypeScript (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.*Storage, ...); any
 * other global (posix.system, builtins.eval, ...) aborts the load with a CheckpointError.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
 * float -> number, str -> string, bytes -> Uint8Array, list/tuple -> array, dict -> Map, set -> Set,
 * tensors -> TorchTensorRef (lazy: storages are read by the caller after unpickling).
 *
 * Budget: memo references (BINGET, DUP) share objects and never copy them; every value put into a
 * container and every element an allow-listed callable copies (OrderedDict items, torch.Size, tensor
 * sizes, _codecs.encode) is counted, as is every new container, and a pickle that builds more than
 * LIMITS.pickleValuesPerByte values per byte of the file (+ LIMITS.pickleValuesSlack, at most
 * LIMITS.pickleMaxValues) is refused, so shared references cannot multiply a small file into a large allocation.
 */
import { LIMITS, describe } from './limits'
import { CheckpointError, type HostDType } from './types'

/** A storage reference returned by persistent_load (BINPERSID). */
export interface StorageRef {
  kind: 'storage'
  dtype: HostDType
  /** storage key: zip entry name under data/, or the legacy root key */
  key: string
  location: string
  /** number of elements of the (root) storage */
  numel: number
  /** legacy view storages: element offset into the root storage and view length */
  viewOffset?: number
  viewSize?: number
}

/** A tensor as described by _rebuild_tensor(_v2): a strided view into a storage. */
export interface TorchTensorRef {
  kind: 'tensor'
  storage: StorageRef
  offset: number
  size: number[]
  stride: number[]
}

/** The type object of a torch storage class (torch.FloatStorage, ...), as a persistent id carries it. */
export interface StorageType { kind: 'storage-type'; dtype: HostDType; name: string }

export type PersistentLoad = (pid: unknown) => unknown

export interface UnpickleOptions {
  /** file name for error messages */
  file: string
  /** byte offset where the pickle starts (legacy files hold several pickles in a row) */
  offset?: number
  persistentLoad?: PersistentLoad
}

const STORAGE_DTYPES: Record<string, HostDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool',
}

/** Counts the values a callable copies (see the budget above). */
type Charge = (n: number) => void
type Callable = (args: unknown[], charge: Charge) => unknown
interface PyCallable { kind: 'callable'; name: string; call: Callable; build?: (obj: unknown, state: unknown) => unknown }

const asInt = (v: unknown, what: string): number => {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'bigint') return Number(v)
  throw new Error(`${what} is not an integer`)
}
const intList = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v)) throw new Error(`${what} is not a tuple`)
  return v.map((x, i) => asInt(x, `${what}[${i}]`))
}
const isStorage = (v: unknown): v is StorageRef => typeof v === 'object' && v !== null && (v as StorageRef).kind === 'storage'

const lengthOf = (v: unknown): number =>
  Array.isArray(v) || typeof v === 'string' ? v.length : v instanceof Map || v instanceof Set ? v.size : v instanceof Uint8Array ? v.length : 1

function rebuildTensor(args: unknown[], charge: Charge): TorchTensorRef {
  const [storage, offset, size, stride] = args
  if (!isStorage(storage)) throw new Error('_rebuild_tensor got something that is not a storage')
  charge(lengthOf(size) + lengthOf(stride))
  if (lengthOf(size) > LIMITS.maxRank) throw new Error(`tensor of rank ${lengthOf(size)} (at most ${LIMITS.maxRank})`)
  return { kind: 'tensor', storage, offset: asInt(offset, 'storage_offset'), size: intList(size, 'size'), stride: intList(stride, 'stride') }
}

interface NumpyDType { kind: 'numpy-dtype'; code: string; little: boolean }
function numpyScalar(args: unknown[]): number | bigint | boolean {
  const [dt, raw] = args as [NumpyDType, unknown]
  if (dt?.kind !== 'numpy-dtype' || !(raw instanceof Uint8Array)) throw new Error('numpy scalar with unexpected arguments')
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const le = dt.little
  const readers: Record<string, () => number | bigint | boolean> = {
    f8: () => dv.getFloat64(0, le), f4: () => dv.getFloat32(0, le), i8: () => dv.getBigInt64(0, le),
    i4: () => dv.getInt32(0, le), i2: () => dv.getInt16(0, le), i1: () => dv.getInt8(0), u1: () => dv.getUint8(0),
    u2: () => dv.getUint16(0, le), u4: () => dv.getUint32(0, le), u8: () => dv.getBigUint64(0, le), b1: () => dv.getUint8(0) !== 0,
  }
  const r = readers[dt.code]
  if (!r) throw new Error(`numpy scalar of dtype ${dt.code} is not supported`)
  const v = r()
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
}

/** The allow-list: every callable a state dict may reference, implemented without executing anything. */
function allowed(module: string, name: string): PyCallable | StorageType | undefined {
  const full = `${module}.${name}`
  const fn = (call: Callable, build?: PyCallable['build']): PyCallable => ({ kind: 'callable', name: full, call, build })
  if (module === 'torch' && name in STORAGE_DTYPES) return { kind: 'storage-type', dtype: STORAGE_DTYPES[name], name: full }
  switch (full) {
    case 'collections.OrderedDict':
      return fn((args, charge) => {
        const m = new Map<unknown, unknown>()
        if (args.length > 0 && Array.isArray(args[0])) {
          charge(args[0].length)
          for (const kv of args[0] as unknown[]) {
            if (!Array.isArray(kv)) throw new Error('OrderedDict item is not a pair')
            m.set(kv[0], kv[1])
          }
        }
        return m
      }, (obj) => obj) // BUILD state of an OrderedDict is its __dict__ (torch: `_metadata` versions), not items
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
      return fn(rebuildTensor)
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return fn((args) => args[0])
    case 'torch.Size':
      return fn((args, charge) => {
        if (!args.length) return []
        if (!Array.isArray(args[0])) throw new Error('torch.Size of something that is not a tuple')
        charge(args[0].length)
        return [...args[0]]
      })
    case '_codecs.encode':
      // protocol-2 pickles encode bytes as _codecs.encode(str, 'latin1')
      return fn((args, charge) => {
        if (typeof args[0] !== 'string') throw new Error('_codecs.encode of something that is not a string')
        const s = args[0]
        charge(s.length)
        const enc = (typeof args[1] === 'string' ? args[1] : 'utf-8').toLowerCase()
        if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff)
        return new TextEncoder().encode(s)
      })
    case 'numpy.core.multiarray.scalar':
    case 'numpy._core.multiarray.scalar':
      return fn(numpyScalar)
    case 'numpy.dtype':
      return fn((args): NumpyDType => ({ kind: 'numpy-dtype', code: describe(args[0], 16), little: true }), (obj, state) => {
        if (Array.isArray(state) && state[1] === '>') (obj as NumpyDType).little = false
        return obj
      })
    default:
      return undefined
  }
}

class Reader {
  pos: number
  constructor(readonly buf: Uint8Array, offset: number, readonly view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)) {
    this.pos = offset
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new TruncatedError(this.pos, n, this.buf.length)
  }
  u8(): number { this.need(1); return this.buf[this.pos++] }
  u16(): number { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v }
  i32(): number { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v }
  u64(): number {
    this.need(8)
    const v = this.view.getBigUint64(this.pos, true)
    this.pos += 8
    if (v > BigInt(this.buf.length)) throw new TruncatedError(this.pos, Number.MAX_SAFE_INTEGER, this.buf.length)
    return Number(v)
  }
  f64be(): number { this.need(8); const v = this.view.getFloat64(this.pos, false); this.pos += 8; return v }
  bytes(n: number): Uint8Array { this.need(n); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b }
  line(): string {
    const end = this.buf.indexOf(0x0a, this.pos)
    if (end < 0) throw new TruncatedError(this.pos, 1, this.buf.length)
    const s = latin1(this.buf.subarray(this.pos, end))
    this.pos = end + 1
    return s
  }
}

class TruncatedError extends Error {
  constructor(readonly at: number, readonly wanted: number, readonly size: number) {
    super(`truncated file: the pickle needs more bytes at offset ${at} but the data ends at ${size}`)
  }
}

const utf8 = new TextDecoder('utf-8')
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0
  let v = 0n
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i])
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length)
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
}

/** Longest integer a pickle may hold (decoding is quadratic in the length; torch's magic number has 10 bytes). */
const MAX_INT_BYTES = 1024

function parseTextInt(s: string): number | bigint | boolean {
  const t = s.trim().replace(/L$/, '')
  if (t.length > 2.5 * MAX_INT_BYTES) throw new Error(`integer of ${t.length} digits (at most ${2.5 * MAX_INT_BYTES})`)
  if (t === '01') return true
  if (t === '00') return false
  const v = BigInt(t)
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
}

function refuse(file: string, module: string, name: string): never {
  throw new CheckpointError(file, `refused to load: the pickle references ${describe(module, 200)}.${describe(name, 200)}, which a state dict never needs; nothing was executed`)
}

/** Unpickle one pickle starting at `offset`; returns the value and the position after STOP. */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions): { value: unknown; end: number } {
  const { file } = opts
  const r = new Reader(buf, opts.offset ?? 0)
  let stack: unknown[] = []
  const metastack: unknown[][] = []
  const memo = new Map<number, unknown>()
  const maxValues = Math.min(LIMITS.pickleMaxValues, LIMITS.pickleValuesPerByte * buf.length + LIMITS.pickleValuesSlack)
  let values = 0
  const charge: Charge = (n) => {
    values += n
    if (values > maxValues) {
      throw new CheckpointError(file, `refused to load: the pickle builds more than ${maxValues} values (references and copies counted) from a ${buf.length}-byte file; nothing was executed`)
    }
  }

  const pop = (): unknown => {
    if (stack.length === 0) throw new Error('stack underflow')
    return stack.pop()
  }
  const popMark = (): unknown[] => {
    const items = stack
    stack = metastack.pop() ?? (() => { throw new Error('MARK missing') })()
    charge(items.length)
    return items
  }
  const top = (): unknown => {
    if (stack.length === 0) throw new Error('stack underflow')
    return stack[stack.length - 1]
  }
  const resolve = (module: string, name: string): unknown => allowed(module, name) ?? refuse(file, module, name)
  const call = (f: unknown, args: unknown, op: string): unknown => {
    if (typeof f !== 'object' || f === null || (f as PyCallable).kind !== 'callable') throw new Error(`${op} on a non-callable`)
    if (!Array.isArray(args)) throw new Error(`${op} arguments are not a tuple`)
    charge(1)
    const out = (f as PyCallable).call(args, charge)
    const build = (f as PyCallable).build
    if (build && typeof out === 'object' && out !== null) buildFor.set(out, build)
    return out
  }
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!(d instanceof Map)) throw new Error('SETITEM(S) on a non-dict')
    if (items.length % 2) throw new Error('SETITEMS with an odd number of items')
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1])
  }
  const append = (l: unknown, items: unknown[]): void => {
    if (Array.isArray(l)) for (const x of items) l.push(x)
    else if (l instanceof Set) for (const x of items) l.add(x)
    else throw new Error('APPEND(S) on a non-list')
  }
  const persid = (pid: unknown): unknown => {
    if (!opts.persistentLoad) throw new Error('persistent id found but this format has no persistent storage')
    return opts.persistentLoad(pid)
  }

  try {
    for (;;) {
      const at = r.pos
      const op = r.u8()
      switch (op) {
        case 0x80: { const p = r.u8(); if (p > 5) throw new Error(`unsupported pickle protocol ${p}`); break } // PROTO
        case 0x95: r.u64(); break // FRAME: frames are just a hint
        case 0x2e: // STOP
          if (stack.length !== 1) throw new Error(`STOP with ${stack.length} values on the stack`)
          return { value: stack[0], end: r.pos }
        case 0x28: metastack.push(stack); stack = []; break // MARK
        case 0x30: pop(); break // POP
        case 0x31: popMark(); break // POP_MARK
        case 0x32: charge(1); stack.push(top()); break // DUP
        case 0x4e: stack.push(null); break // NONE
        case 0x88: stack.push(true); break // NEWTRUE
        case 0x89: stack.push(false); break // NEWFALSE
        case 0x4a: stack.push(r.i32()); break // BININT
        case 0x4b: stack.push(r.u8()); break // BININT1
        case 0x4d: stack.push(r.u16()); break // BININT2
        case 0x8a: stack.push(decodeLong(r.bytes(r.u8()))); break // LONG1
        case 0x8b: { // LONG4
          const n = r.i32()
          if (n < 0) throw new Error('negative LONG4 length')
          if (n > MAX_INT_BYTES) throw new Error(`integer of ${n} bytes (at most ${MAX_INT_BYTES})`)
          stack.push(decodeLong(r.bytes(n)))
          break
        }
        case 0x49: stack.push(parseTextInt(r.line())); break // INT
        case 0x4c: stack.push(parseTextInt(r.line())); break // LONG
        case 0x46: stack.push(parseFloat(r.line())); break // FLOAT
        case 0x47: stack.push(r.f64be()); break // BINFLOAT
        case 0x58: stack.push(utf8.decode(r.bytes(r.u32()))); break // BINUNICODE
        case 0x8c: stack.push(utf8.decode(r.bytes(r.u8()))); break // SHORT_BINUNICODE
        case 0x8d: stack.push(utf8.decode(r.bytes(r.u64()))); break // BINUNICODE8
        case 0x56: stack.push(r.line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))); break // UNICODE
        case 0x54: stack.push(latin1(r.bytes(r.i32()))); break // BINSTRING (py2 str)
        case 0x55: stack.push(latin1(r.bytes(r.u8()))); break // SHORT_BINSTRING
        case 0x53: { const s = r.line().trim(); stack.push(s.slice(1, -1)); break } // STRING (repr)
        case 0x42: stack.push(r.bytes(r.u32()).slice()); break // BINBYTES
        case 0x43: stack.push(r.bytes(r.u8()).slice()); break // SHORT_BINBYTES
        case 0x8e: stack.push(r.bytes(r.u64()).slice()); break // BINBYTES8
        case 0x96: stack.push(r.bytes(r.u64()).slice()); break // BYTEARRAY8
        case 0x7d: charge(1); stack.push(new Map()); break // EMPTY_DICT
        case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break } // DICT
        case 0x5d: charge(1); stack.push([]); break // EMPTY_LIST
        case 0x6c: { const items = popMark(); stack.push(items); break } // LIST
        case 0x29: charge(1); stack.push([]); break // EMPTY_TUPLE
        case 0x74: { const items = popMark(); stack.push(items); break } // TUPLE
        case 0x85: charge(1); stack.push([pop()]); break // TUPLE1
        case 0x86: { charge(2); const b = pop(); const a = pop(); stack.push([a, b]); break } // TUPLE2
        case 0x87: { charge(3); const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break } // TUPLE3
        case 0x8f: charge(1); stack.push(new Set()); break // EMPTY_SET
        case 0x90: { const items = popMark(); append(top(), items); break } // ADDITEMS
        case 0x91: { const items = popMark(); stack.push(new Set(items)); break } // FROZENSET
        case 0x73: { charge(2); const v = pop(); const k = pop(); setItems(top(), [k, v]); break } // SETITEM
        case 0x75: { const items = popMark(); setItems(top(), items); break } // SETITEMS
        case 0x61: { charge(1); const v = pop(); append(top(), [v]); break } // APPEND
        case 0x65: { const items = popMark(); append(top(), items); break } // APPENDS
        case 0x71: memo.set(r.u8(), top()); break // BINPUT
        case 0x72: memo.set(r.u32(), top()); break // LONG_BINPUT
        case 0x70: memo.set(Number(r.line()), top()); break // PUT
        case 0x94: memo.set(memo.size, top()); break // MEMOIZE
        case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
          const k = op === 0x68 ? r.u8() : op === 0x6a ? r.u32() : Number(r.line())
          if (!memo.has(k)) throw new Error(`memo key ${k} missing`)
          charge(1)
          stack.push(memo.get(k))
          break
        }
        case 0x63: { const module = r.line(); const name = r.line(); stack.push(resolve(module, name)); break } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = pop(); const module = pop()
          if (typeof module !== 'string' || typeof name !== 'string') throw new Error(`STACK_GLOBAL of ${describe(module)}.${describe(name)}, not two strings`)
          stack.push(resolve(module, name))
          break
        }
        case 0x69: { // INST
          const module = r.line(); const name = r.line()
          const cls = resolve(module, name)
          const args = popMark()
          stack.push(call(cls, args, 'INST'))
          break
        }
        case 0x6f: { const items = popMark(); const cls = items.shift(); stack.push(call(cls, items, 'OBJ')); break } // OBJ
        case 0x52: { const args = pop(); const f = pop(); stack.push(call(f, args, 'REDUCE')); break } // REDUCE
        case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args, 'NEWOBJ')); break } // NEWOBJ
        case 0x92: { pop(); const args = pop(); const cls = pop(); stack.push(call(cls, args, 'NEWOBJ_EX')); break } // NEWOBJ_EX (kwargs ignored)
        case 0x62: { // BUILD
          const state = pop()
          const obj = top()
          if (state === null || (state instanceof Map && state.size === 0)) break
          const builder = buildFor.get(obj as object)
          if (!builder) throw new Error('BUILD (setting object state) on an object that takes no state')
          stack[stack.length - 1] = builder(obj, state)
          break
        }
        case 0x51: stack.push(persid(pop())); break // BINPERSID
        case 0x50: stack.push(persid(r.line())); break // PERSID
        case 0x82: case 0x83: case 0x84: // EXT1/2/4: extension registry lookups could name anything
          throw new CheckpointError(file, 'refused to load: the pickle uses the copyreg extension registry (EXT opcodes), which a state dict never needs; nothing was executed')
        case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
          throw new Error('out-of-band buffers (protocol 5) are not supported')
        default:
          throw new Error(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`)
      }
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e
    if (e instanceof TruncatedError) throw new CheckpointError(file, e.message)
    throw new CheckpointError(file, `malformed pickle: ${(e as Error).message} (near byte ${r.pos})`)
  }
}

/** Which allow-listed callable built each object, so BUILD knows how to apply state to it. */
const buildFor = new WeakMap<object, NonNullable<PyCallable['build']>>()

/** Type guards for consumers. */
export const isTensorRef = (v: unknown): v is TorchTensorRef => typeof v === 'object' && v !== null && (v as TorchTensorRef).kind === 'tensor'
export const isStorageType = (v: unknown): v is StorageType => typeof v === 'object' && v !== null && (v as StorageType).kind === 'storage-type'
export { isStorage as isStorageRef }
