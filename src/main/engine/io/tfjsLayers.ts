/**
 * A TF.js LAYERS model on disk: `model.json` (modelTopology + weightsManifest) + weight shard files.
 * Each manifest group's shards are concatenated and its weights read in order; quantised weights
 * (uint8/uint16 with scale/min, or float16) are dequantised to float32. Keys are the tfjs weight
 * names (`Conv1/kernel`, `bn_Conv1/gamma`, ...); layout is the file's own (conv kernels HWIO).
 *
 * A model.json is untrusted: weight shards must resolve (realpath) to regular files strictly inside the
 * model's folder, each listed once; they are read with bounded reads, never more than the manifest's
 * declared bytes (LIMITS.maxFileBytes in all), so `../../etc/passwd`, `/dev/zero`, a FIFO or a huge file
 * are refused or cut. The topology's layer sizes (Dense units = the class count, Conv2D filters and kernel
 * sizes) must match the weights that back them (see checkTopology).
 */
import { closeSync, existsSync, realpathSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { LIMITS, openRegularFile, readAtMost, readRegularFile, shapeNumel, shapeProblem } from './limits'
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

/** Bytes per stored element of a manifest weight, undefined for unsupported dtypes (own keys only). */
function bytesPerElement(w: WeightSpec): number | undefined {
  const q = w.quantization
  if (q !== undefined && (typeof q !== 'object' || q === null)) return undefined
  const table: Record<string, number> = q ? QUANT_BYTES : PLAIN_BYTES
  const dt = q ? q.dtype : w.dtype
  return typeof dt === 'string' && Object.hasOwn(table, dt) ? table[dt] : undefined
}

const asPair = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, 2) : [v, v])

/**
 * The layer sizes a network is built from must match the weights that back them, so a model.json cannot
 * make the model allocate more than the file holds: every Dense layer (the last one's units are the class
 * count, at most LIMITS.maxClasses) and every Conv2D / DepthwiseConv2D needs its kernel in the manifest,
 * holding data, with the units / filters / depth multiplier and kernel size its config declares.
 */
function checkTopology(file: string, topology: unknown, sd: StateDict): void {
  const root = (topology as { model_config?: unknown } | null)?.model_config ?? topology
  const todo: unknown[] = [root]
  const shapeText = (t: HostTensor): string => JSON.stringify(t.shape)
  while (todo.length) {
    const layer = todo.pop() as { class_name?: unknown; name?: unknown; config?: unknown } | null
    if (typeof layer !== 'object' || layer === null) continue
    const cfg = layer.config as Record<string, unknown> | unknown[] | undefined
    if (Array.isArray(cfg)) { for (const l of cfg) todo.push(l); continue } // old Sequential format: config is the layer list
    if (typeof cfg !== 'object' || cfg === null) continue
    if (Array.isArray(cfg.layers)) { for (const l of cfg.layers) todo.push(l); continue }
    const kind = layer.class_name
    if (kind !== 'Dense' && kind !== 'Conv2D' && kind !== 'DepthwiseConv2D') continue
    const name = String(cfg.name ?? layer.name)
    const key = `${name}/${kind === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel'}`
    const size = kind === 'Dense' ? cfg.units : kind === 'Conv2D' ? cfg.filters : (cfg.depth_multiplier ?? 1)
    const what = kind === 'Dense' ? 'units' : kind === 'Conv2D' ? 'filters' : 'depth_multiplier'
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > LIMITS.maxClasses) {
      throw new CheckpointError(file, `${kind} layer '${name}' has ${what} ${JSON.stringify(size)}; supported: 1..${LIMITS.maxClasses}`)
    }
    const k = sd.get(key)
    if (!k) throw new CheckpointError(file, `${kind} layer '${name}' (${what} ${size}) has no weight '${key}' in the weights manifest`)
    const rank = kind === 'Dense' ? 2 : 4
    if (k.shape.length !== rank || k.shape[rank - 1] !== size || k.data.length === 0) {
      throw new CheckpointError(file, `${kind} layer '${name}' declares ${what} ${size} but its weight '${key}' has shape ${shapeText(k)}${k.data.length === 0 ? ' and holds no data' : ''}`)
    }
    if (kind !== 'Dense') {
      const ks = asPair(cfg.kernel_size)
      if (ks[0] !== k.shape[0] || ks[1] !== k.shape[1]) {
        throw new CheckpointError(file, `${kind} layer '${name}' declares kernel_size ${JSON.stringify(cfg.kernel_size)} but its weight '${key}' has shape ${shapeText(k)}`)
      }
    }
  }
}

/** Is `child` (a real path) strictly inside the folder `root` (a real path)? */
function isInside(root: string, child: string): boolean {
  const rel = relative(root, child)
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}

export function readTfjsLayers(path: string): TfjsLayersRead {
  const modelJson = tfjsModelJsonPath(path)
  if (!modelJson) throw new CheckpointError(path, 'folder has no model.json (expected a TF.js layers model)')
  let model: Record<string, unknown>
  const text = readRegularFile(modelJson, { what: 'model.json', maxBytes: LIMITS.maxJsonBytes }).toString('utf8')
  try {
    model = JSON.parse(text)
  } catch (e) {
    throw new CheckpointError(modelJson, `model.json is not valid JSON: ${(e as Error).message}`)
  }
  if (typeof model !== 'object' || model === null || Array.isArray(model)) throw new CheckpointError(modelJson, 'model.json is not a JSON object')
  const format = model.format as string | undefined
  if (format === 'graph-model') throw new CheckpointError(modelJson, 'this is a TF.js GRAPH model; only LAYERS models carry named layer weights')
  if (!model.modelTopology || !Array.isArray(model.weightsManifest)) {
    throw new CheckpointError(modelJson, 'model.json lacks modelTopology or weightsManifest')
  }
  const dir = dirname(modelJson)
  const realDir = realpathSync(dir)
  const stateDict: StateDict = new Map()
  const notes: string[] = []
  let quantised = 0
  let declaredTotal = 0
  const shardsSeen = new Set<string>()
  for (const group of model.weightsManifest as ManifestGroup[]) {
    if (typeof group !== 'object' || group === null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new CheckpointError(modelJson, 'weightsManifest entry lacks paths or weights lists')
    }
    // the group's declared size: what its shards must hold and all that is read of them
    let declared = 0
    for (const w of group.weights) {
      if (typeof w !== 'object' || w === null || typeof w.name !== 'string') throw new CheckpointError(modelJson, 'weightsManifest weight without a name')
      const bad = shapeProblem(w.shape)
      if (bad) throw new CheckpointError(modelJson, `weight ${w.name}: ${bad}`)
      const bytesPer = bytesPerElement(w)
      if (!bytesPer) throw new CheckpointError(modelJson, `weight ${w.name} has unsupported dtype ${w.quantization ? String(w.quantization.dtype) : String(w.dtype)}`)
      declared += shapeNumel(w.shape) * bytesPer
      if (declaredTotal + declared > LIMITS.maxFileBytes) {
        throw new CheckpointError(modelJson, `the weights manifest declares more than ${LIMITS.maxFileBytes} bytes of weights (at weight ${w.name})`)
      }
    }
    declaredTotal += declared
    const parts: Buffer[] = []
    let got = 0
    let trailing = 0
    for (const p of group.paths) {
      if (typeof p !== 'string') throw new CheckpointError(modelJson, 'a weight shard path is not a string')
      const f = resolve(dir, p)
      let real: string
      try {
        real = realpathSync(f)
      } catch {
        throw new CheckpointError(modelJson, `weight shard ${p} is missing (looked for ${f})`)
      }
      if (!isInside(realDir, real)) {
        throw new CheckpointError(modelJson, `weight shard ${p} resolves to ${real}, outside the model's folder ${realDir}: refused`)
      }
      if (shardsSeen.has(real)) throw new CheckpointError(modelJson, `weight shard ${p} is listed more than once in the weights manifest`)
      shardsSeen.add(real)
      const { fd, size } = openRegularFile(real, { errFile: modelJson, what: `weight shard ${p}` })
      try {
        const want = Math.min(size, declared - got)
        const b = readAtMost(fd, want)
        parts.push(b)
        got += b.length
        trailing += size - b.length
      } finally {
        closeSync(fd)
      }
    }
    const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts)
    let off = 0
    for (const w of group.weights) {
      const numel = shapeNumel(w.shape)
      const q = w.quantization
      const bytesPer = bytesPerElement(w)
      if (!bytesPer) throw new CheckpointError(modelJson, `weight ${w.name} has unsupported dtype ${q ? String(q.dtype) : String(w.dtype)}`)
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
    trailing += bytes.length - off
    if (trailing) notes.push(`manifest group ${group.paths.join(', ')}: ${trailing} trailing bytes ignored`)
  }
  if (quantised) notes.push(`${quantised} quantised weight(s) dequantised to float32`)
  checkTopology(modelJson, model.modelTopology, stateDict)
  const meta: Record<string, unknown> = { modelTopology: model.modelTopology }
  for (const k of ['format', 'generatedBy', 'convertedBy', 'userDefinedMetadata']) if (model[k] !== undefined) meta[k] = model[k]
  // Teachable Machine and similar exporters put labels etc. in a metadata.json beside model.json
  const side = join(dir, 'metadata.json')
  if (existsSync(side)) {
    let sideText: string | undefined
    try {
      sideText = readRegularFile(side, { what: 'metadata.json', maxBytes: LIMITS.maxJsonBytes }).toString('utf8')
    } catch (e) {
      notes.push(`${(e as Error).message}; ignored`)
    }
    if (sideText !== undefined) {
      try {
        meta.metadata = JSON.parse(sideText)
      } catch {
        notes.push('metadata.json beside model.json is not valid JSON; ignored')
      }
    }
  }
  return { stateDict, meta, notes }
}
