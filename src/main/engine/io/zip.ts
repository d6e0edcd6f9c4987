/**
 * A tiny read-only zip reader over a file descriptor: central directory (with zip64 sizes/offsets),
 * stored and deflated entries (node:zlib). Entries are read on demand, so big archives are not loaded
 * whole. Torch writes stored entries with 64-byte-aligned data; the local header's own extra field
 * length is honoured for that reason.
 * Budgets: only regular files are opened; the entries' data may not add up to more than the archive (no
 * entries sharing bytes); every entry's declared uncompressed size is capped (LIMITS.maxFileBytes each,
 * LIMITS.inflateRatio x the archive's size for all entries together), and inflating stops at the declared
 * size, so a small archive cannot expand into a large allocation.
 */
import { closeSync, readSync } from 'node:fs'
import { inflateRawSync } from 'node:zlib'
import { LIMITS, openRegularFile } from './limits'
import { CheckpointError } from './types'

export interface ZipEntry {
  name: string
  method: number
  compressedSize: number
  size: number
  localHeaderOffset: number
}

const SIG_EOCD = 0x06054b50
const SIG_EOCD64 = 0x06064b50
const SIG_EOCD64_LOC = 0x07064b50
const SIG_CENTRAL = 0x02014b50
const SIG_LOCAL = 0x04034b50

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>()
  private fd: number
  readonly fileSize: number

  constructor(readonly file: string) {
    const { fd, size } = openRegularFile(file)
    this.fd = fd
    try {
      this.fileSize = size
      this.readCentralDirectory()
    } catch (e) {
      this.close()
      throw e
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }

  private fail(msg: string): never {
    throw new CheckpointError(this.file, msg)
  }

  private read(pos: number, n: number): Buffer {
    if (pos < 0 || pos + n > this.fileSize) this.fail(`truncated zip archive: needs bytes ${pos}..${pos + n} but the file has ${this.fileSize}`)
    const b = Buffer.allocUnsafe(n)
    let got = 0
    while (got < n) {
      const k = readSync(this.fd, b, got, n - got, pos + got)
      if (k <= 0) this.fail(`read failed at byte ${pos + got}`)
      got += k
    }
    return b
  }

  private readCentralDirectory(): void {
    const tailLen = Math.min(this.fileSize, 22 + 65535 + 20)
    const tailStart = this.fileSize - tailLen
    const tail = this.read(tailStart, tailLen)
    let eocd = -1
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD) { eocd = i; break }
    }
    if (eocd < 0) this.fail('truncated or damaged zip archive: end-of-central-directory record not found')
    let count = tail.readUInt16LE(eocd + 10)
    let cdSize = tail.readUInt32LE(eocd + 12)
    let cdOffset = tail.readUInt32LE(eocd + 16)
    // zip64: locator sits right before the EOCD record
    const loc = eocd - 20
    if (loc >= 0 && tail.readUInt32LE(loc) === SIG_EOCD64_LOC) {
      const rec = Number(tail.readBigUInt64LE(loc + 8))
      const r = this.read(rec, 56)
      if (r.readUInt32LE(0) !== SIG_EOCD64) this.fail('damaged zip64 end-of-central-directory record')
      count = Number(r.readBigUInt64LE(32))
      cdSize = Number(r.readBigUInt64LE(40))
      cdOffset = Number(r.readBigUInt64LE(48))
    }
    if (cdOffset + cdSize > this.fileSize) this.fail(`truncated zip archive: central directory at ${cdOffset}+${cdSize} lies past the end (${this.fileSize} bytes)`)
    const cd = this.read(cdOffset, cdSize)
    const maxTotal = Math.min(LIMITS.maxFileBytes, this.fileSize * LIMITS.inflateRatio)
    let total = 0
    let stored = 0
    let p = 0
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) this.fail(`damaged zip central directory at entry ${i}`)
      const method = cd.readUInt16LE(p + 10)
      let compressedSize = cd.readUInt32LE(p + 20)
      let size = cd.readUInt32LE(p + 24)
      const nameLen = cd.readUInt16LE(p + 28)
      const extraLen = cd.readUInt16LE(p + 30)
      const commentLen = cd.readUInt16LE(p + 32)
      let localHeaderOffset = cd.readUInt32LE(p + 42)
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen)
      // zip64 extended information extra field (id 0x0001): only the fields that are 0xffffffff
      let e = p + 46 + nameLen
      const eEnd = e + extraLen
      while (e + 4 <= eEnd) {
        const id = cd.readUInt16LE(e)
        const len = cd.readUInt16LE(e + 2)
        if (id === 0x0001) {
          let q = e + 4
          if (size === 0xffffffff) { size = Number(cd.readBigUInt64LE(q)); q += 8 }
          if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8 }
          if (localHeaderOffset === 0xffffffff) { localHeaderOffset = Number(cd.readBigUInt64LE(q)) }
        }
        e += 4 + len
      }
      if (method === 0 && size !== compressedSize) this.fail(`damaged zip: stored entry ${name} declares ${size} bytes but holds ${compressedSize}`)
      if (size > LIMITS.maxFileBytes) this.fail(`zip entry ${name} declares ${size} bytes uncompressed, more than the ${LIMITS.maxFileBytes} bytes allowed for one entry`)
      total += size
      stored += compressedSize
      // entries whose data overlap (several directory entries naming the same bytes) would multiply them
      if (stored > this.fileSize) this.fail(`zip entries hold ${stored} bytes of data in all (up to entry ${name}), more than the archive's ${this.fileSize} bytes: entries overlap`)
      if (total > maxTotal) {
        this.fail(`zip entries declare ${total} bytes uncompressed (entry ${name}: ${size} bytes from ${compressedSize} compressed), more than ${maxTotal} (${LIMITS.inflateRatio} x the archive's ${this.fileSize} bytes): refused as a zip bomb`)
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset })
      p = eEnd + commentLen
    }
  }

  /** Byte position and length of an entry's (compressed) data. */
  private dataRange(entry: ZipEntry): number {
    const h = this.read(entry.localHeaderOffset, 30)
    if (h.readUInt32LE(0) !== SIG_LOCAL) this.fail(`damaged zip: bad local header for ${entry.name}`)
    return entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28)
  }

  /** The uncompressed bytes of an entry. */
  readEntry(name: string): Uint8Array {
    const entry = this.entries.get(name)
    if (!entry) this.fail(`zip archive has no entry ${name}`)
    const start = this.dataRange(entry)
    if (start + entry.compressedSize > this.fileSize) {
      this.fail(`truncated zip archive: entry ${name} needs bytes ${start}..${start + entry.compressedSize} but the file has ${this.fileSize}`)
    }
    const raw = this.read(start, entry.compressedSize)
    if (entry.method === 0) return raw
    if (entry.method === 8) {
      try {
        // never more than the declared size (checked against the budget when the directory was read)
        const out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) })
        if (out.length !== entry.size) this.fail(`zip entry ${name} inflated to ${out.length} bytes, expected ${entry.size}`)
        return out
      } catch (e) {
        if (e instanceof CheckpointError) throw e
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          this.fail(`zip entry ${name} inflates past its declared ${entry.size} bytes: refused as a zip bomb (stopped at the declared size)`)
        }
        this.fail(`zip entry ${name} is corrupt: ${(e as Error).message}`)
      }
    }
    this.fail(`zip entry ${name} uses compression method ${entry.method}; only stored (0) and deflated (8) are supported`)
  }
}
