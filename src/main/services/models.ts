/**
 * Model import (the app's `models.import` and `daft models import` both end here) and the content fingerprint
 * the catalog tells checkpoints apart by (services/catalog.ts).
 *
 * Fingerprint: sha256 of the checkpoint file's bytes; for a TF.js layers model (a model.json, or a folder holding
 * one), sha256 over model.json's bytes and then each weight shard its manifest names, in manifest order, each
 * preceded by its relative path (a shard missing or resolving outside the model's folder counts as its marker).
 */
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readFile, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join, sep } from 'node:path'
import { ApiError } from '../../shared/api'
import type { ModelSummary } from '../../shared/types'
import type { Db } from '../store/db'
import type { EnginePort } from './ports'
import { saveModel, type ModelInfo } from '../store/catalog'

/** Reads a checkpoint's summary (the engine's `model.inspect`, or the same task run in the calling process). */
export type InspectModel = (path: string, arch?: string) => Promise<ModelInfo>

/** `model.inspect` in the engine process. */
export function engineInspect(engine: EnginePort): InspectModel {
  return (path, arch) => engine.request('model.inspect', { path, arch })
}

/** The name a model gets when none is given: the file name, or the folder of a model.json. */
export function defaultModelName(path: string): string {
  return basename(path) === 'model.json' ? basename(dirname(path)) : basename(path)
}

/** Inspects a checkpoint and saves it in the project (same project + name: replaced). */
export async function importModelService(db: Db, inspect: InspectModel, req: { projectId: number; path: string; name?: string; arch?: string }): Promise<ModelSummary> {
  if (typeof req.path !== 'string' || !req.path) throw new ApiError('bad_request', 'path: the checkpoint file is required')
  let info
  try {
    info = await inspect(req.path, req.arch)
  } catch (e) {
    throw new ApiError('bad_checkpoint', (e as Error).message)
  }
  const name = req.name?.trim() || defaultModelName(req.path)
  // the fingerprint lets `daft run` and `daft models import` find this entry again; a file that cannot be hashed
  // (it was just read, so rarely) is saved without one, as before
  const fingerprint = await modelFingerprint(req.path).catch(() => null)
  return saveModel(db, req.projectId, name, info, fingerprint)
}

/** A model.json's text is at most this large (the loader's own limit is smaller). */
const MAX_MODEL_JSON = 64 * 1024 * 1024

async function hashFile(h: Hash, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(path)
    s.on('data', (chunk) => h.update(chunk))
    s.on('error', reject)
    s.on('end', () => resolve())
  })
}

async function startsLikeJson(path: string): Promise<boolean> {
  const f = await open(path, 'r')
  try {
    const buf = Buffer.alloc(64)
    const { bytesRead } = await f.read(buf, 0, 64, 0)
    return buf.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('{')
  } finally {
    await f.close()
  }
}

/** The shard paths a TF.js model.json names (undefined when the file is not a layers model.json). */
function manifestPaths(text: string): string[] | undefined {
  let model: unknown
  try {
    model = JSON.parse(text)
  } catch {
    return undefined
  }
  const manifest = (model as { weightsManifest?: unknown } | null)?.weightsManifest
  if (!Array.isArray(manifest)) return undefined
  return manifest.flatMap((g) => (Array.isArray((g as { paths?: unknown })?.paths) ? ((g as { paths: unknown[] }).paths.filter((p) => typeof p === 'string') as string[]) : []))
}

/** sha256 (hex) of a checkpoint's content; see the file comment for TF.js models. */
export async function modelFingerprint(path: string): Promise<string> {
  const real = await realpath(path)
  const st = await stat(real)
  const file = st.isDirectory() ? await realpath(join(real, 'model.json')) : real
  const h = createHash('sha256')
  if ((await stat(file)).size <= MAX_MODEL_JSON && (await startsLikeJson(file))) {
    const text = await readFile(file)
    const shards = manifestPaths(text.toString('utf8'))
    if (shards) {
      const dir = dirname(file)
      h.update('tfjs-layers\0model.json\0')
      h.update(text)
      for (const p of shards) {
        h.update(`\0${p}\0`)
        let shard: string
        try {
          shard = await realpath(join(dir, p))
        } catch {
          h.update('missing')
          continue
        }
        if (!shard.startsWith(dir + sep)) h.update('outside')
        else await hashFile(h, shard)
      }
      return h.digest('hex')
    }
  }
  await hashFile(h, file)
  return h.digest('hex')
}
