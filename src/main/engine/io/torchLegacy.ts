/**
 * The legacy (pre-1.6, non-zip) torch.save format, as used by the CIFAR ResNet `.th` files:
 *   pickle(magic 0x1950a86a20f9469cfc6c) pickle(protocol version) pickle(sys_info)
 *   pickle(object, storages as persistent ids) pickle([storage keys])
 *   then per key, in that order: int64 element count + raw storage bytes.
 */
import { unpickle } from './pickle'
import { ELEMENT_SIZE } from './storage'
import { materialize, storageFromPersistentId } from './torchCommon'
import type { TorchRead } from './torchZip'
import { CheckpointError, type HostDType } from './types'

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn

export function readTorchLegacy(file: string, buf: Uint8Array): TorchRead {
  let pos = 0
  const next = (): unknown => {
    const r = unpickle(buf, { file, offset: pos, persistentLoad: (pid) => storageFromPersistentId(file, pid) })
    pos = r.end
    return r.value
  }
  const magic = next()
  if (magic !== LEGACY_MAGIC) throw new CheckpointError(file, 'a pickle, but not a torch checkpoint (legacy magic number missing)')
  const protocol = next()
  if (protocol !== 1001) throw new CheckpointError(file, `unsupported legacy torch protocol version ${String(protocol)}`)
  const sysInfo = next()
  const notes: string[] = []
  let littleEndian = true
  if (sysInfo instanceof Map) {
    if (sysInfo.get('little_endian') === false) { littleEndian = false; notes.push('storages are big-endian; byte-swapped on load') }
    const longSize = sysInfo.get('type_sizes') instanceof Map ? (sysInfo.get('type_sizes') as Map<string, unknown>).get('long') : 8
    if (longSize !== undefined && longSize !== 4 && longSize !== 8) throw new CheckpointError(file, `unexpected sys_info long size ${String(longSize)}`)
  }
  // collect storage dtypes while unpickling the main object (keys arrive later)
  const dtypes = new Map<string, HostDType>()
  const main = unpickle(buf, {
    file, offset: pos,
    persistentLoad: (pid) => {
      const ref = storageFromPersistentId(file, pid)
      dtypes.set(ref.key, ref.dtype)
      return ref
    },
  })
  pos = main.end
  const keys = next()
  if (!Array.isArray(keys)) throw new CheckpointError(file, 'malformed legacy checkpoint: storage key list missing')
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const storages = new Map<string, Uint8Array>()
  let storageElements = 0
  for (const k of keys) {
    if (typeof k !== 'string' && typeof k !== 'number') throw new CheckpointError(file, 'malformed legacy checkpoint: a storage key is not a string')
    const key = String(k)
    const dtype = dtypes.get(key)
    if (!dtype) throw new CheckpointError(file, `malformed legacy checkpoint: storage ${key} is listed but no tensor uses it`)
    if (pos + 8 > buf.length) throw new CheckpointError(file, `truncated file: storage ${key} header at byte ${pos} lies past the end (${buf.length} bytes)`)
    const count = dv.getBigInt64(pos, littleEndian)
    pos += 8
    const nbytes = Number(count) * ELEMENT_SIZE[dtype]
    if (count < 0n || pos + nbytes > buf.length) {
      throw new CheckpointError(file, `truncated file: storage ${key} needs ${nbytes} bytes at offset ${pos} but the file has ${buf.length}`)
    }
    if (storages.has(key)) throw new CheckpointError(file, `malformed legacy checkpoint: storage ${key} is listed twice`)
    storages.set(key, buf.subarray(pos, pos + nbytes))
    storageElements += Number(count)
    pos += nbytes
  }
  const raw = materialize(main.value, {
    file, littleEndian, notes, storageElements,
    storageBytes: (ref) => {
      const b = storages.get(ref.key)
      if (!b) throw new CheckpointError(file, `tensor data out of range: storage ${ref.key} is not in the file's storage list`)
      return b
    },
  })
  return { raw, notes }
}
