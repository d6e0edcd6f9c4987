/**
 * A TF.js LAYERS model on disk: `model.json` (modelTopology + weightsManifest) + weight shard files.
 * Each manifest group's shards are concatenated and its weights read in order; quantised weights
 * (uint8/uint16 with scale/min, or float16) are dequantised to float32. Keys are the tfjs weight
 * names (`Conv1/kernel`, `bn_Conv1/gamma`, ...); layout is the file's own (conv kernels HWIO).
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { halfToFloat } from './storage'
import { CheckpointError, type HostDType, type HostTensor, type StateDict } from './types'

interface WeightSpec {
  name: string
  shape: number[]
  dtype: string
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number; original_dtype?: string }
}
interface ManifestGroup { paths: string[]; weights: WeightSpec[] }

export interface TfjsLayersRead {
  stateDict: StateDict
  meta: Record<string, unknown>
  notes: string[]
}

/** Resolve a path that is either a model.json or a folder holding one. */
export function tfjsModelJsonPath(path: string): string | undefined {
  if (statSync(path).isDirectory()) {
    const p = join(path, 'model.json')
    return existsSync(p) ? p : undefined
  }
  return path
}

/** Does this text look like a tfjs model.json? */
export function looksLikeTfjsModelJson(head: Uint8Array): boolean {
  const s = new TextDecoder().decode(head.subarray(0, 4096)).trimStart()
  return s.startsWith('{') && (s.includes('"modelTopology"') || s.includes('"weightsManifest"'))
}

const QUANT_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const
const PLAIN_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 }

export function readTfjsLayers(path: string): TfjsLayersRead {
  const modelJson = tfjsModelJsonPath(path)
  if (!modelJson) throw new CheckpointError(path, 'folder has no model.json (expected a TF.js layers model)')
  let model: Record<string, unknown>
  try {
    model = JSON.parse(readFileSync(modelJson, 'utf8'))
  } catch (e) {
    throw new CheckpointError(modelJson, `model.json is not valid JSON: ${(e as Error).message}`)
  }
  const format = model.format as string | undefined
  if (format === 'graph-model') throw new CheckpointError(modelJson, 'this is a TF.js GRAPH model; only LAYERS models carry named layer weights')
  if (!model.modelTopology || !Array.isArray(model.weightsManifest)) {
    throw new CheckpointError(modelJson, 'model.json lacks modelTopology or weightsManifest')
  }
  const dir = dirname(modelJson)
  const stateDict: StateDict = new Map()
  const notes: string[] = []
  let quantised = 0
  for (const group of model.weightsManifest as ManifestGroup[]) {
    const shards = group.paths.map((p) => {
      const f = resolve(dir, p)
      if (!existsSync(f)) throw new CheckpointError(modelJson, `weight shard ${p} is missing (looked for ${f})`)
      return readFileSync(f)
    })
    const bytes = shards.length === 1 ? shards[0] : Buffer.concat(shards)
    let off = 0
    for (const w of group.weights) {
      const numel = w.shape.reduce((a, b) => a * b, 1)
      const q = w.quantization
      const bytesPer = q ? QUANT_BYTES[q.dtype] : PLAIN_BYTES[w.dtype]
      if (!bytesPer) throw new CheckpointError(modelJson, `weight ${w.name} has unsupported dtype ${q ? q.dtype : w.dtype}`)
      const len = numel * bytesPer
      if (off + len > bytes.length) {
        throw new CheckpointError(modelJson, `tensor data out of range: weight ${w.name} needs bytes ${off}..${off + len} but shards ${group.paths.join(', ')} hold ${bytes.length}`)
      }
      const dv = new DataView(bytes.buffer, bytes.byteOffset + off, len)
      const outDtype = (q?.original_dtype ?? w.dtype) as string
      let t: HostTensor
      if (q) {
        quantised++
        const data = outDtype === 'int32' ? new Int32Array(numel) : new Float32Array(numel)
        const scale = q.scale ?? 1
        const min = q.min ?? 0
        for (let i = 0; i < numel; i++) {
          const v = q.dtype === 'uint8' ? dv.getUint8(i) * scale + min
            : q.dtype === 'uint16' ? dv.getUint16(i * 2, true) * scale + min
              : halfToFloat(dv.getUint16(i * 2, true))
          data[i] = outDtype === 'int32' ? Math.round(v) : v
        }
        t = { shape: [...w.shape], dtype: outDtype === 'int32' ? 'int32' : 'float32', data }
      } else if (w.dtype === 'float32') {
        const data = new Float32Array(numel)
        new Uint8Array(data.buffer).set(bytes.subarray(off, off + len))
        t = { shape: [...w.shape], dtype: 'float32', data }
      } else if (w.dtype === 'int32') {
        const data = new Int32Array(numel)
        new Uint8Array(data.buffer).set(bytes.subarray(off, off + len))
        t = { shape: [...w.shape], dtype: 'int32', data }
      } else {
        t = { shape: [...w.shape], dtype: 'bool' as HostDType, data: Uint8Array.from(bytes.subarray(off, off + len), (b) => (b ? 1 : 0)) }
      }
      if (stateDict.has(w.name)) throw new CheckpointError(modelJson, `weight name ${w.name} occurs twice in the manifest`)
      stateDict.set(w.name, t)
      off += len
    }
    if (off !== bytes.length) notes.push(`manifest group ${group.paths.join(', ')}: ${bytes.length - off} trailing bytes ignored`)
  }
  if (quantised) notes.push(`${quantised} quantised weight(s) dequantised to float32`)
  const meta: Record<string, unknown> = { modelTopology: model.modelTopology }
  for (const k of ['format', 'generatedBy', 'convertedBy', 'userDefinedMetadata']) if (model[k] !== undefined) meta[k] = model[k]
  // Teachable Machine and similar exporters put labels etc. in a metadata.json beside model.json
  const side = join(dir, 'metadata.json')
  if (existsSync(side)) {
    try {
      meta.metadata = JSON.parse(readFileSync(side, 'utf8'))
    } catch {
      notes.push('metadata.json beside model.json is not valid JSON; ignored')
    }
  }
  return { stateDict, meta, notes }
}
