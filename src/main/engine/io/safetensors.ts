/**
 * safetensors: u64 LE header length N, N bytes of JSON
 * `{ "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": { str: str } }`
 * (offsets relative to the byte after the header), then the little-endian tensor bytes.
 * As in the reference implementation, the tensors' byte ranges must tile the data section exactly: sorted by
 * offset they start at 0, each begins where the previous one ends (no overlap, no gap) and the last one ends
 * at the end of the file, each holding dtype size x shape bytes. So every byte is read once, and a small file
 * cannot describe large tensors by pointing many entries at the same bytes.
 */
import { writeFileSync } from 'node:fs'
import { readRegularFile, shapeNumel, shapeProblem } from './limits'
import { ELEMENT_SIZE, floatToBFloat16, floatToHalf, readStrided } from './storage'
import { CheckpointError, type HostDType, type HostTensor, type StateDict } from './types'

const TO_HOST: Record<string, HostDType> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
}
const FROM_HOST: Record<HostDType, string> = Object.fromEntries(Object.entries(TO_HOST).map(([k, v]) => [v, k])) as Record<HostDType, string>

/** Largest header we accept (the reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000

export interface SafetensorsRead {
  stateDict: StateDict
  metadata: Record<string, string>
  notes: string[]
}

/** Does this buffer start like a safetensors file? (plausible u64 length followed by '{') */
export function looksLikeSafetensors(head: Uint8Array, fileSize: number): boolean {
  if (head.length < 9) return false
  const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true)
  return n > 1n && n <= BigInt(Math.min(MAX_HEADER, fileSize - 8)) && head[8] === 0x7b
}

export function readSafetensors(file: string, buf: Uint8Array = readRegularFile(file)): SafetensorsRead {
  if (buf.length < 8) throw new CheckpointError(file, `truncated safetensors file: ${buf.length} bytes, the header length alone needs 8`)
  const n64 = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true)
  if (n64 > BigInt(MAX_HEADER)) throw new CheckpointError(file, `safetensors header length ${n64} is implausibly large`)
  const n = Number(n64)
  if (8 + n > buf.length) throw new CheckpointError(file, `truncated safetensors file: header needs ${n} bytes, file has ${buf.length - 8} after the length`)
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)))
  } catch (e) {
    throw new CheckpointError(file, `safetensors header is not valid JSON: ${(e as Error).message}`)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new CheckpointError(file, 'safetensors header is not a JSON object')
  const data = buf.subarray(8 + n)
  const metadata: Record<string, string> = {}
  const stateDict: StateDict = new Map()
  const notes: string[] = []
  const entries: [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][] = []
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, x] of Object.entries((v ?? {}) as Record<string, unknown>)) metadata[k] = String(x)
      continue
    }
    const info = v as { dtype: string; shape: number[]; data_offsets: [number, number] }
    if (!info || typeof info.dtype !== 'string' || !Array.isArray(info.shape) || !Array.isArray(info.data_offsets)) {
      throw new CheckpointError(file, `safetensors entry ${name} lacks dtype/shape/data_offsets`)
    }
    entries.push([name, info])
  }
  // tensors are stored in offset order; keep that order (it is the writer's order)
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1])
  let clamped = 0
  let expect = 0
  let previous = ''
  for (const [name, info] of entries) {
    const dtype = TO_HOST[info.dtype]
    if (!dtype) throw new CheckpointError(file, `safetensors entry ${name} has unsupported dtype ${info.dtype}`)
    const bad = shapeProblem(info.shape)
    if (bad) throw new CheckpointError(file, `safetensors entry ${name}: ${bad}`)
    const [begin, end] = info.data_offsets
    const numel = shapeNumel(info.shape)
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin || end > data.length) {
      throw new CheckpointError(file, `tensor data out of range: ${name} has data_offsets [${begin}, ${end}] but the data section holds ${data.length} bytes`)
    }
    if (end - begin !== numel * ELEMENT_SIZE[dtype]) {
      throw new CheckpointError(file, `safetensors entry ${name}: ${end - begin} bytes do not fit shape ${JSON.stringify(info.shape)} of ${info.dtype}`)
    }
    if (begin < expect) {
      throw new CheckpointError(file, `safetensors entries '${previous}' and '${name}' overlap (${name} has data_offsets [${begin}, ${end}], the previous entry ends at ${expect}): each tensor must have bytes of its own`)
    }
    if (begin > expect) throw new CheckpointError(file, `safetensors entry ${name} starts at byte ${begin} of the data section, leaving a gap after byte ${expect}`)
    expect = end
    previous = name
    const stride = info.shape.map((_, i) => shapeNumel(info.shape.slice(i + 1)))
    const r = readStrided(data.subarray(begin, end), { dtype, offset: 0, size: info.shape, stride }, file, name)
    if (r.clamped) clamped++
    stateDict.set(name, r.tensor)
  }
  if (expect !== data.length) {
    throw new CheckpointError(file, `safetensors data section holds ${data.length} bytes but the tensors cover only ${expect}: ${data.length - expect} trailing bytes`)
  }
  if (clamped) notes.push(`${clamped} int64 tensor(s) held values beyond the int32 range; clamped`)
  return { stateDict, metadata, notes }
}

function encode(t: HostTensor): Uint8Array {
  const n = t.data.length
  const out = new Uint8Array(n * ELEMENT_SIZE[t.dtype])
  const dv = new DataView(out.buffer)
  const d = t.data
  switch (t.dtype) {
    case 'float32': for (let i = 0; i < n; i++) dv.setFloat32(i * 4, d[i], true); break
    case 'float64': for (let i = 0; i < n; i++) dv.setFloat64(i * 8, d[i], true); break
    case 'float16': for (let i = 0; i < n; i++) dv.setUint16(i * 2, floatToHalf(d[i]), true); break
    case 'bfloat16': for (let i = 0; i < n; i++) dv.setUint16(i * 2, floatToBFloat16(d[i]), true); break
    case 'int64': for (let i = 0; i < n; i++) dv.setBigInt64(i * 8, BigInt(Math.trunc(d[i])), true); break
    case 'int32': for (let i = 0; i < n; i++) dv.setInt32(i * 4, d[i], true); break
    case 'int16': for (let i = 0; i < n; i++) dv.setInt16(i * 2, d[i], true); break
    case 'int8': for (let i = 0; i < n; i++) dv.setInt8(i, d[i]); break
    case 'uint8': for (let i = 0; i < n; i++) dv.setUint8(i, d[i]); break
    case 'bool': for (let i = 0; i < n; i++) dv.setUint8(i, d[i] ? 1 : 0); break
  }
  return out
}

/** Serialise a state dict (in its own key order) to safetensors bytes; header padded with spaces to 8 bytes. */
export function encodeSafetensors(stateDict: StateDict, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {}
  if (metadata && Object.keys(metadata).length) header.__metadata__ = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]))
  const blobs: Uint8Array[] = []
  let off = 0
  for (const [name, t] of stateDict) {
    if (name === '__metadata__') throw new Error('a tensor may not be named __metadata__')
    const numel = t.shape.reduce((a, b) => a * b, 1)
    if (numel !== t.data.length) throw new Error(`tensor ${name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`)
    const b = encode(t)
    header[name] = { dtype: FROM_HOST[t.dtype], shape: t.shape, data_offsets: [off, off + b.length] }
    blobs.push(b)
    off += b.length
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8')
  const pad = (8 - (json.length % 8)) % 8
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)])
  const out = new Uint8Array(8 + json.length + off)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  let p = 8 + json.length
  for (const b of blobs) { out.set(b, p); p += b.length }
  return out
}

export function writeSafetensors(path: string, stateDict: StateDict, metadata?: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(stateDict, metadata))
}
