/**
 * The current torch.save format: a zip archive `<prefix>/data.pkl` (the pickled object, storages as
 * persistent ids) + `<prefix>/data/<key>` (raw storage bytes) + optional `<prefix>/byteorder`.
 * The prefix folder name is whatever torch chose (`archive`, the file stem, ...).
 */
import { unpickle } from './pickle'
import { ELEMENT_SIZE } from './storage'
import { materialize, storageFromPersistentId } from './torchCommon'
import { CheckpointError } from './types'
import { ZipReader } from './zip'

export interface TorchRead {
  /** the unpickled object with tensors materialised as HostTensors */
  raw: unknown
  notes: string[]
}

export function readTorchZip(file: string): TorchRead {
  const zip = new ZipReader(file)
  try {
    const pkls = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || (n.endsWith('/data.pkl') && n.split('/').length === 2))
    if (pkls.length === 0) {
      const hint = [...zip.entries.keys()].some((n) => n.endsWith('.json')) ? ' (a plain zip of other files?)' : ''
      throw new CheckpointError(file, `zip archive has no <folder>/data.pkl entry: not a torch checkpoint${hint}`)
    }
    const pklName = pkls.includes('archive/data.pkl') ? 'archive/data.pkl' : pkls[0]
    const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length)
    const notes: string[] = []
    let littleEndian = true
    if (zip.entries.has(`${prefix}byteorder`)) {
      const order = new TextDecoder().decode(zip.readEntry(`${prefix}byteorder`)).trim()
      if (order !== 'little' && order !== 'big') throw new CheckpointError(file, `unknown byteorder '${order}'`)
      littleEndian = order === 'little'
      if (!littleEndian) notes.push('storages are big-endian; byte-swapped on load')
    }
    let value: unknown
    // element size of each storage the pickle references: the archive's storages bound the views' budget
    const storageElementSize = new Map<string, number>()
    try {
      value = unpickle(zip.readEntry(pklName), {
        file,
        persistentLoad: (pid) => {
          const ref = storageFromPersistentId(file, pid)
          storageElementSize.set(ref.key, Math.min(storageElementSize.get(ref.key) ?? Infinity, ELEMENT_SIZE[ref.dtype]))
          return ref
        },
      }).value
    } catch (e) {
      if (e instanceof CheckpointError && zip.entries.has(`${prefix}constants.pkl`) && /refused/.test(e.message)) {
        throw new CheckpointError(file, `${e.message.slice(file.length + 2)} (this looks like a TorchScript archive; save a state_dict instead)`)
      }
      throw e
    }
    let storageElements = 0
    for (const [key, es] of storageElementSize) storageElements += Math.floor((zip.entries.get(`${prefix}data/${key}`)?.size ?? 0) / es)
    const cache = new Map<string, Uint8Array>()
    const raw = materialize(value, {
      file,
      littleEndian,
      notes,
      storageElements,
      storageBytes: (ref) => {
        let b = cache.get(ref.key)
        if (!b) {
          const name = `${prefix}data/${ref.key}`
          if (!zip.entries.has(name)) throw new CheckpointError(file, `tensor data out of range: storage ${name} is missing from the archive`)
          b = zip.readEntry(name)
          cache.set(ref.key, b)
        }
        return b
      },
    })
    return { raw, notes }
  } finally {
    zip.close()
  }
}
