/**
 * Checkpoint import: `loadCheckpoint(path)` recognises the format by content (not by extension) and
 * returns a normalised state dict. Nothing in a checkpoint is ever executed.
 *   PK\x03\x04            -> torch zip (torch.save since 1.6)
 *   \x80 (pickle PROTO)   -> legacy torch pickle (magic 0x1950a86a20f9469cfc6c)
 *   u64 length + '{'      -> safetensors
 *   JSON with modelTopology / a folder with model.json -> TF.js layers model
 */
import { closeSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { normalizeStateDict } from './keymap'
import { fileKind, openRegularFile, readAtMost, readRegularFile } from './limits'
import { encodeSafetensors, looksLikeSafetensors, readSafetensors } from './safetensors'
import { looksLikeTfjsModelJson, readTfjsLayers } from './tfjsLayers'
import { readTorchLegacy } from './torchLegacy'
import { readTorchZip } from './torchZip'
import { CheckpointError, type CheckpointFormat, type LoadedCheckpoint, type StateDict } from './types'

export { CheckpointError } from './types'
export type { HostDType, HostTensor, LoadedCheckpoint, StateDict, CheckpointFormat } from './types'
export { matchKeys, normalizeStateDict } from './keymap'
export { readSafetensors, encodeSafetensors } from './safetensors'

/** The first bytes of a regular file (FIFOs, devices and sockets are refused, never opened blocking). */
function readHead(path: string, n: number): Uint8Array {
  const { fd } = openRegularFile(path, { what: 'checkpoint' })
  try {
    return readAtMost(fd, n)
  } finally {
    closeSync(fd)
  }
}

/** Which reader applies to this file, judged from its first bytes. */
export function detectFormat(path: string): CheckpointFormat {
  const st = statSync(path)
  if (st.isDirectory()) return 'tfjs-layers'
  const head = readHead(path, 4096)
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return 'torch-zip'
  // before the pickle test: a safetensors header length may begin with byte 0x80
  if (looksLikeSafetensors(head, st.size)) return 'safetensors'
  if (head[0] === 0x80 || /^c[A-Za-z_][\w.]*\n[A-Za-z_]\w*\n/.test(Buffer.from(head.subarray(0, 200)).toString('latin1'))) return 'torch-legacy'
  if (looksLikeTfjsModelJson(head)) return 'tfjs-layers'
  const printable = Buffer.from(head.subarray(0, 16)).toString('latin1').replace(/[^\x20-\x7e]/g, '.')
  throw new CheckpointError(path, `unknown checkpoint format: not a torch zip, legacy torch pickle, safetensors file or TF.js model.json (first bytes: "${printable}")`)
}

/** Load any supported checkpoint; throws CheckpointError (naming the file) for anything unreadable or unsafe. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  try {
    let st
    try {
      st = statSync(path)
    } catch {
      throw new CheckpointError(path, 'file not found')
    }
    if (!st.isDirectory() && !st.isFile()) throw new CheckpointError(path, `not a regular file or folder (${fileKind(st)})`)
    if (!st.isDirectory() && st.size === 0) throw new CheckpointError(path, 'empty file (0 bytes)')
    const format = detectFormat(path)
    switch (format) {
      case 'torch-zip':
      case 'torch-legacy': {
        const r = format === 'torch-zip' ? readTorchZip(path) : readTorchLegacy(path, readRegularFile(path, { what: 'checkpoint' }))
        const n = normalizeStateDict(r.raw, path)
        return { path, format, stateDict: n.stateDict, meta: n.meta, notes: [...r.notes, ...n.notes] }
      }
      case 'safetensors': {
        const r = readSafetensors(path)
        const n = normalizeStateDict(r.stateDict, path)
        return { path, format, stateDict: n.stateDict, meta: { ...r.metadata }, notes: [...r.notes, ...n.notes] }
      }
      case 'tfjs-layers': {
        const r = readTfjsLayers(path)
        return { path, format, stateDict: r.stateDict, meta: r.meta, notes: r.notes }
      }
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e
    throw new CheckpointError(path, `could not read checkpoint: ${(e as Error).message}`)
  }
}

/** Write a state dict as safetensors (string metadata goes into __metadata__). */
export async function saveSafetensors(path: string, stateDict: StateDict, metadata?: Record<string, string>): Promise<void> {
  await writeFile(path, encodeSafetensors(stateDict, metadata))
}
