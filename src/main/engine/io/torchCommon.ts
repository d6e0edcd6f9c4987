/**
 * What the zip and legacy torch formats share: decoding the persistent id of a storage and turning the
 * unpickled object tree's lazy TorchTensorRefs into HostTensors once storage bytes are available.
 */
import { isStorageType, isTensorRef, type StorageRef } from './pickle'
import { ELEMENT_SIZE, readStrided } from './storage'
import { CheckpointError, type HostTensor } from './types'

/** ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) -> StorageRef */
export function storageFromPersistentId(file: string, pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage') {
    const what = Array.isArray(pid) ? String(pid[0]) : typeof pid
    throw new CheckpointError(file, `refused to load: persistent id of kind '${what}' (only tensor storages are supported); nothing was executed`)
  }
  const [, type, key, location, numel, view] = pid
  if (!isStorageType(type)) throw new CheckpointError(file, 'malformed pickle: storage persistent id without a storage type')
  const ref: StorageRef = { kind: 'storage', dtype: type.dtype, key: String(key), location: String(location), numel: Number(numel) }
  if (Array.isArray(view)) {
    // legacy view storages: (view_key, offset, view_size) into the root storage `key`
    ref.viewOffset = Number(view[1])
    ref.viewSize = Number(view[2])
  }
  return ref
}

export interface MaterializeContext {
  file: string
  littleEndian: boolean
  /** bytes of the root storage `ref.key` (whole storage) */
  storageBytes: (ref: StorageRef) => Uint8Array
  notes: string[]
}

/**
 * Replace every TorchTensorRef in an unpickled tree by a HostTensor (contiguous, widened).
 * Maps, arrays and sets are rebuilt; cycles are cut (a value already being visited is kept as is).
 */
export function materialize(value: unknown, ctx: MaterializeContext): unknown {
  const done = new Map<object, unknown>()
  let clampedTensors = 0
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v !== 'object' || v === null) return v
    if (done.has(v)) return done.get(v)
    if (isTensorRef(v)) {
      const ref = v.storage
      let bytes = ctx.storageBytes(ref)
      const es = ELEMENT_SIZE[ref.dtype]
      if (ref.viewOffset !== undefined) {
        const end = (ref.viewOffset + (ref.viewSize ?? 0)) * es
        if (end > bytes.length) throw new CheckpointError(ctx.file, `tensor data out of range: view storage of ${path} ends past its root storage ${ref.key}`)
        bytes = bytes.subarray(ref.viewOffset * es, end)
      }
      const { tensor, clamped } = readStrided(bytes, { dtype: ref.dtype, offset: v.offset, size: v.size, stride: v.stride, littleEndian: ctx.littleEndian }, ctx.file, path || '(tensor)')
      if (clamped) clampedTensors++
      done.set(v, tensor)
      return tensor
    }
    if (v instanceof Map) {
      const out = new Map<unknown, unknown>()
      done.set(v, out)
      for (const [k, x] of v) out.set(k, walk(x, path ? `${path}.${String(k)}` : String(k)))
      return out
    }
    if (Array.isArray(v)) {
      const out: unknown[] = []
      done.set(v, out)
      v.forEach((x, i) => out.push(walk(x, `${path}[${i}]`)))
      return out
    }
    if (v instanceof Set) {
      const out = new Set<unknown>()
      done.set(v, out)
      for (const x of v) out.add(walk(x, path))
      return out
    }
    return v
  }
  const result = walk(value, '')
  if (clampedTensors) ctx.notes.push(`${clampedTensors} int64 tensor(s) held values beyond the int32 range; clamped`)
  return result
}

export const isHostTensor = (v: unknown): v is HostTensor =>
  typeof v === 'object' && v !== null && Array.isArray((v as HostTensor).shape) && ArrayBuffer.isView((v as HostTensor).data) && typeof (v as HostTensor).dtype === 'string'
