/** Test fixtures built byte by byte: pickle opcodes, a stored-entry zip writer, temp folders. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { constants as zc, crc32, deflateRawSync } from 'node:zlib'

/** Hand assembly of pickle opcodes (names as in CPython's pickletools). */
export class PickleBuilder {
  private bytes: number[] = []
  private raw(...b: number[]): this { this.bytes.push(...b); return this }
  private ascii(s: string): number[] { return [...Buffer.from(s, 'latin1')] }
  proto(n: number): this { return this.raw(0x80, n) }
  global(module: string, name: string): this { return this.raw(0x63, ...this.ascii(`${module}\n${name}\n`)) }
  stackGlobal(): this { return this.raw(0x93) }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8')
    const len = Buffer.alloc(4)
    len.writeUInt32LE(b.length)
    return this.raw(0x58, ...len, ...b) // BINUNICODE
  }
  shortStr(s: string): this { const b = Buffer.from(s, 'utf8'); return this.raw(0x8c, b.length, ...b) } // SHORT_BINUNICODE
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n) // BININT1
    const b = Buffer.alloc(4)
    b.writeInt32LE(n)
    return this.raw(0x4a, ...b) // BININT
  }
  long1(bytesLE: number[]): this { return this.raw(0x8a, bytesLE.length, ...bytesLE) }
  float(x: number): this { const b = Buffer.alloc(8); b.writeDoubleBE(x); return this.raw(0x47, ...b) }
  none(): this { return this.raw(0x4e) }
  bool(v: boolean): this { return this.raw(v ? 0x88 : 0x89) }
  mark(): this { return this.raw(0x28) }
  tuple(): this { return this.raw(0x74) }
  tuple1(): this { return this.raw(0x85) }
  tuple2(): this { return this.raw(0x86) }
  emptyTuple(): this { return this.raw(0x29) }
  emptyDict(): this { return this.raw(0x7d) }
  emptyList(): this { return this.raw(0x5d) }
  appends(): this { return this.raw(0x65) }
  setitem(): this { return this.raw(0x73) }
  setitems(): this { return this.raw(0x75) }
  binput(i: number): this { return this.raw(0x71, i) }
  binget(i: number): this { return this.raw(0x68, i) }
  memoize(): this { return this.raw(0x94) }
  frame(len: number): this { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(len)); return this.raw(0x95, ...b) }
  reduce(): this { return this.raw(0x52) }
  build(): this { return this.raw(0x62) }
  binpersid(): this { return this.raw(0x51) }
  op(code: number, ...args: number[]): this { return this.raw(code, ...args) }
  stop(): this { return this.raw(0x2e) }
  toBuffer(): Buffer { return Buffer.from(this.bytes) }
}

/** The pickle every exploit uses: <module>.<name>(<arg>) via GLOBAL + REDUCE. */
export function maliciousPickle(module: string, name: string, arg: string): Buffer {
  return new PickleBuilder().proto(2).global(module, name).str(arg).tuple1().reduce().stop().toBuffer()
}

/** The three header pickles of a legacy torch file: magic number, protocol 1001, sys_info. */
export function legacyHeader(): Buffer {
  const magic = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19] // 0x1950a86a20f9469cfc6c, LE
  const p = new PickleBuilder()
  p.proto(2).long1(magic).stop()
  p.proto(2).op(0x4d, 0xe9, 0x03).stop() // BININT2 1001
  p.proto(2).emptyDict().mark().str('protocol_version').op(0x4d, 0xe9, 0x03).str('little_endian').bool(true).setitems().stop()
  return p.toBuffer()
}

/**
 * A zip archive of stored entries, as torch writes them. `deflate` compresses entries instead;
 * `zip64` writes sizes/offsets as 0xffffffff with zip64 extra fields plus a zip64 end record,
 * as writers do for archives past 4 GB.
 */
export function makeZip(entries: [string, Uint8Array][], opts: { zip64?: boolean; deflate?: boolean } = {}): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name, 'utf8')
    const crc = crc32(data)
    const body = opts.deflate ? deflateRawSync(data) : Buffer.from(data)
    const lh = Buffer.alloc(30)
    lh.writeUInt32LE(0x04034b50, 0)
    lh.writeUInt16LE(20, 4)
    lh.writeUInt16LE(opts.deflate ? 8 : 0, 8)
    lh.writeUInt32LE(crc, 14)
    lh.writeUInt32LE(body.length, 18)
    lh.writeUInt32LE(data.length, 22)
    lh.writeUInt16LE(nameBuf.length, 26)
    const ch = Buffer.alloc(46)
    ch.writeUInt32LE(0x02014b50, 0)
    ch.writeUInt16LE(45, 4)
    ch.writeUInt16LE(45, 6)
    ch.writeUInt16LE(opts.deflate ? 8 : 0, 10)
    ch.writeUInt32LE(crc, 16)
    ch.writeUInt16LE(nameBuf.length, 28)
    let extra = Buffer.alloc(0)
    if (opts.zip64) {
      ch.writeUInt32LE(0xffffffff, 20)
      ch.writeUInt32LE(0xffffffff, 24)
      ch.writeUInt32LE(0xffffffff, 42)
      extra = Buffer.alloc(28)
      extra.writeUInt16LE(0x0001, 0)
      extra.writeUInt16LE(24, 2)
      extra.writeBigUInt64LE(BigInt(data.length), 4) // uncompressed, compressed, offset: the spec's order
      extra.writeBigUInt64LE(BigInt(body.length), 12)
      extra.writeBigUInt64LE(BigInt(offset), 20)
      ch.writeUInt16LE(extra.length, 30)
    } else {
      ch.writeUInt32LE(body.length, 20)
      ch.writeUInt32LE(data.length, 24)
      ch.writeUInt32LE(offset, 42)
    }
    locals.push(lh, nameBuf, body)
    centrals.push(ch, nameBuf, extra)
    offset += 30 + nameBuf.length + body.length
  }
  const cd = Buffer.concat(centrals)
  const tail: Buffer[] = []
  const eocd = Buffer.alloc(22)
  eocd.writeUInt32LE(0x06054b50, 0)
  if (opts.zip64) {
    const rec = Buffer.alloc(56)
    rec.writeUInt32LE(0x06064b50, 0)
    rec.writeBigUInt64LE(44n, 4)
    rec.writeUInt16LE(45, 12)
    rec.writeUInt16LE(45, 14)
    rec.writeBigUInt64LE(BigInt(entries.length), 24)
    rec.writeBigUInt64LE(BigInt(entries.length), 32)
    rec.writeBigUInt64LE(BigInt(cd.length), 40)
    rec.writeBigUInt64LE(BigInt(offset), 48)
    const loc = Buffer.alloc(20)
    loc.writeUInt32LE(0x07064b50, 0)
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8)
    loc.writeUInt32LE(1, 16)
    tail.push(rec, loc)
    eocd.writeUInt16LE(0xffff, 8)
    eocd.writeUInt16LE(0xffff, 10)
    eocd.writeUInt32LE(0xffffffff, 12)
    eocd.writeUInt32LE(0xffffffff, 16)
  } else {
    eocd.writeUInt16LE(entries.length, 8)
    eocd.writeUInt16LE(entries.length, 10)
    eocd.writeUInt32LE(cd.length, 12)
    eocd.writeUInt32LE(offset, 16)
  }
  return Buffer.concat([...locals, cd, ...tail, eocd])
}

/**
 * A zip archive from prepared entries: `body` is written as is (already deflated when method is 8) and
 * `size` is the uncompressed size the directory declares (which a hostile archive may get wrong on purpose);
 * `aliasOf` makes a directory entry point at an earlier entry's bytes.
 */
export function makeZipRaw(entries: { name: string; method: 0 | 8; body: Uint8Array; size: number; crc?: number; aliasOf?: number }[]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  const offsets: number[] = []
  let offset = 0
  for (const e of entries) {
    const nameBuf = Buffer.from(e.name, 'utf8')
    if (e.aliasOf !== undefined) {
      // a directory entry naming another entry's bytes (its local header and data are not written again)
      const ch = Buffer.alloc(46)
      ch.writeUInt32LE(0x02014b50, 0)
      ch.writeUInt16LE(45, 4)
      ch.writeUInt16LE(20, 6)
      ch.writeUInt16LE(e.method, 10)
      ch.writeUInt32LE(e.body.length, 20)
      ch.writeUInt32LE(e.size, 24)
      ch.writeUInt16LE(nameBuf.length, 28)
      ch.writeUInt32LE(offsets[e.aliasOf], 42)
      centrals.push(ch, nameBuf)
      offsets.push(offsets[e.aliasOf])
      continue
    }
    offsets.push(offset)
    const lh = Buffer.alloc(30)
    lh.writeUInt32LE(0x04034b50, 0)
    lh.writeUInt16LE(20, 4)
    lh.writeUInt16LE(e.method, 8)
    lh.writeUInt32LE(e.crc ?? 0, 14)
    lh.writeUInt32LE(e.body.length, 18)
    lh.writeUInt32LE(e.size, 22)
    lh.writeUInt16LE(nameBuf.length, 26)
    const ch = Buffer.alloc(46)
    ch.writeUInt32LE(0x02014b50, 0)
    ch.writeUInt16LE(45, 4)
    ch.writeUInt16LE(20, 6)
    ch.writeUInt16LE(e.method, 10)
    ch.writeUInt32LE(e.crc ?? 0, 16)
    ch.writeUInt32LE(e.body.length, 20)
    ch.writeUInt32LE(e.size, 24)
    ch.writeUInt16LE(nameBuf.length, 28)
    ch.writeUInt32LE(offset, 42)
    locals.push(lh, nameBuf, Buffer.from(e.body))
    centrals.push(ch, nameBuf)
    offset += 30 + nameBuf.length + e.body.length
  }
  const cd = Buffer.concat(centrals)
  const eocd = Buffer.alloc(22)
  eocd.writeUInt32LE(0x06054b50, 0)
  eocd.writeUInt16LE(entries.length, 8)
  eocd.writeUInt16LE(entries.length, 10)
  eocd.writeUInt32LE(cd.length, 12)
  eocd.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, eocd])
}

/**
 * A raw deflate stream of `mib` MiB of zero bytes, built from one compressed MiB repeated (each chunk is
 * sync-flushed, so the chunks concatenate into one valid stream), without holding the inflated data.
 */
export function deflatedZeros(mib: number): { body: Buffer; size: number; crc: number } {
  const MiB = 1 << 20
  const zeros = Buffer.alloc(MiB)
  const chunk = deflateRawSync(zeros, { level: 9, finishFlush: zc.Z_SYNC_FLUSH })
  const end = deflateRawSync(Buffer.alloc(0)) // an empty final block
  let crc = 0
  for (let i = 0; i < mib; i++) crc = crc32(zeros, crc)
  return { body: Buffer.concat([...Array<Buffer>(mib).fill(chunk), end]), size: mib * MiB, crc }
}

/** A legacy (non-zip) torch file: header pickles, the main pickle, the storage key list, then each storage. */
export function makeLegacy(main: Buffer, storages: [key: string, elements: number, bytes: Uint8Array][]): Buffer {
  const keys = new PickleBuilder().proto(2).emptyList().mark()
  for (const [k] of storages) keys.str(k)
  const parts: Buffer[] = [legacyHeader(), main, keys.appends().stop().toBuffer()]
  for (const [, n, bytes] of storages) {
    const count = Buffer.alloc(8)
    count.writeBigInt64LE(BigInt(n))
    parts.push(count, Buffer.from(bytes))
  }
  return Buffer.concat(parts)
}

export const f32bytes = (xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer)

/**
 * data.pkl of a torch zip checkpoint { name: tensor } built from the opcodes torch emits:
 * _rebuild_tensor_v2(persistent storage, offset, size, stride, requires_grad, OrderedDict()).
 */
export function tensorDictPickle(tensors: { name: string; storageType: string; key: string; numel: number; offset: number; size: number[]; stride: number[] }[]): Buffer {
  const p = new PickleBuilder().proto(2).emptyDict().mark()
  const intTuple = (xs: number[]): void => { p.mark(); xs.forEach((x) => p.int(x)); p.tuple() }
  for (const t of tensors) {
    p.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark()
    p.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).tuple().binpersid()
    p.int(t.offset)
    intTuple(t.size)
    intTuple(t.stride)
    p.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce()
    p.tuple().reduce()
  }
  return p.setitems().stop().toBuffer()
}

export function tempDir(prefix = 'daft-io-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
