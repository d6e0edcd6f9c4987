/**
 * What the zip and legacy torch formats share: decoding the persistent id of a storage and turning the
 * unpickled object tree's lazy TorchTensorRefs into HostTensors once storage bytes are available.
 */
import { isStorageType, isTensorRef, type StorageRef } from './pickle'
import { LIMITS, describe } from './limits'
import { ELEMENT_SIZE, checkView, readStrided } from './storage'
import { CheckpointError, type HostTensor } from './types'

/** ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) -> StorageRef */
export function storageFromPersistentId(file: string, pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage') {
    const what = Array.isArray(pid) ? describe(pid[0]) : typeof pid
    throw new CheckpointError(file, `refused to load: persistent id of kind '${what}' (only tensor storages are supported); nothing was executed`)
  }
  const [, type, key, location, numel, view] = pid
  if (!isStorageType(type)) throw new CheckpointError(file, 'malformed pickle: storage persistent id without a storage type')
  if (typeof key !== 'string' && typeof key !== 'number') throw new CheckpointError(file, `malformed pickle: storage key ${describe(key)} is not a string`)
  const ref: StorageRef = { kind: 'storage', dtype: type.dtype, key: String(key), location: describe(location), numel: Number(numel) }
  if (Array.isArray(view)) {
    // legacy view storages: (view_key, offset, view_size) into the root storage `key`
    ref.viewOffset = Number(view[1])
    ref.viewSize = Number(view[2])
    if (!Number.isSafeInteger(ref.viewOffset) || ref.viewOffset < 0 || !Number.isSafeInteger(ref.viewSize) || ref.viewSize < 0) {
      throw new CheckpointError(file, `malformed pickle: view storage of ${ref.key} with offset ${describe(view[1])} and size ${describe(view[2])}`)
    }
  }
  return ref
}

export interface MaterializeContext {
  file: string
  littleEndian: boolean
  /** bytes of the root storage `ref.key` (whole storage) */
  storageBytes: (ref: StorageRef) => Uint8Array
  /**
   * Elements of all the storages the file holds (sum of each storage's bytes / its element size). All tensor
   * views together may materialise at most LIMITS.viewFactor times that plus LIMITS.viewSlackElements, so
   * many views of one storage cannot multiply a small file into a large allocation.
   */
  storageElements: number
  notes: string[]
}

/** A key as it appears in tensor paths for messages (bounded: keys come from the file). */
const seg = (k: unknown): string => describe(k)

/**
 * Replace every TorchTensorRef in an unpickled tree by a HostTensor (contiguous, widened).
 * Maps, arrays and sets are rebuilt once each (a container referenced many times stays one shared
 * object); cycles are cut (a value already being visited is kept as is). Refuses trees nested deeper than
 * LIMITS.maxDepth and views beyond the element budget (see MaterializeContext.storageElements).
 */
export function materialize(value: unknown, ctx: MaterializeContext): unknown {
  const done = new Map<object, unknown>()
  let clampedTensors = 0
  const budget = LIMITS.viewFactor * ctx.storageElements + LIMITS.viewSlackElements
  let viewed = 0
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (typeof v !== 'object' || v === null) return v
    if (done.has(v)) return done.get(v)
    if (depth > LIMITS.maxDepth) throw new CheckpointError(ctx.file, `refused to load: the pickled object nests deeper than ${LIMITS.maxDepth} levels (at ${path.length > 60 ? `${path.slice(0, 60)}...` : path})`)
    if (isTensorRef(v)) {
      const ref = v.storage
      const name = path || '(tensor)'
      let bytes = ctx.storageBytes(ref)
      const es = ELEMENT_SIZE[ref.dtype]
      if (ref.viewOffset !== undefined) {
        const end = (ref.viewOffset + (ref.viewSize ?? 0)) * es
        if (end > bytes.length) throw new CheckpointError(ctx.file, `tensor data out of range: view storage of ${name} ends past its root storage ${ref.key}`)
        bytes = bytes.subarray(ref.viewOffset * es, end)
      }
      // the view's geometry, then the budget of all views, before anything is allocated for it
      const n = checkView(v, Math.floor(bytes.length / es), ctx.file, name)
      if (viewed + n > budget) {
        throw new CheckpointError(ctx.file, `tensor '${name}' would bring the elements materialised to ${viewed + n}, more than ${budget} (${LIMITS.viewFactor} x the ${ctx.storageElements} elements of the file's storages + ${LIMITS.viewSlackElements}): too many views of the same data`)
      }
      viewed += n
      const { tensor, clamped } = readStrided(bytes, { dtype: ref.dtype, offset: v.offset, size: v.size, stride: v.stride, littleEndian: ctx.littleEndian }, ctx.file, name)
      if (clamped) clampedTensors++
      done.set(v, tensor)
      return tensor
    }
    if (v instanceof Map) {
      const out = new Map<unknown, unknown>()
      done.set(v, out)
      for (const [k, x] of v) out.set(k, walk(x, path ? `${path}.${seg(k)}` : seg(k), depth + 1))
      return out
    }
    if (Array.isArray(v)) {
      const out: unknown[] = []
      done.set(v, out)
      v.forEach((x, i) => out.push(walk(x, `${path}[${i}]`, depth + 1)))
      return out
    }
    if (v instanceof Set) {
      const out = new Set<unknown>()
      done.set(v, out)
      for (const x of v) out.add(walk(x, path, depth + 1))
      return out
    }
    return v
  }
  const result = walk(value, '', 0)
  if (clampedTensors) ctx.notes.push(`${clampedTensors} int64 tensor(s) held values beyond the int32 range; clamped`)
  return result
}

export const isHostTensor = (v: unknown): v is HostTensor =>
  typeof v === 'object' && v !== null && Array.isArray((v as HostTensor).shape) && ArrayBuffer.isView((v as HostTensor).data) && typeof (v as HostTensor).dtype === 'string'
