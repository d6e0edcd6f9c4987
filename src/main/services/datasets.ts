/**
 * Dataset services: import a folder (report stored with the dataset), preview images per class, and
 * serve thumbnails of images under registered dataset roots only.
 *
 * Confinement (serve mode exposes these to any local process holding the token): a preview reads only one
 * of the dataset's own splits (named by the stored report, never a path), links out of the dataset folder
 * are not followed, and every folder walk runs off the event loop with a cap on the entries it reads.
 */
import { realpath, stat } from 'node:fs/promises'
import { basename, sep } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../shared/api'
import type { DatasetDetail, ImageRef } from '../../shared/types'
import type { Db } from '../store/db'
import { datasetRoots, getDataset, saveDataset } from '../store/catalog'
import { detectLayoutAsync, importDataset, type SplitName } from '../engine/data/import'
import { indexImageFolderAsync } from '../engine/data/folder'
import { TooManyEntriesError } from '../engine/data/walk'

/** A request value for an error message (short, never the whole of a long string). */
function shown(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** Folder-walk failures as API errors (a walk over the cap is the caller's problem, not a server fault). */
function walkError(e: unknown): never {
  if (e instanceof ApiError) throw e
  if (e instanceof TooManyEntriesError) throw new ApiError('too_many_entries', e.message)
  throw e
}

/** `limits.maxEntries`: the walk's cap on directory entries (default 2,000,000; not settable through the API). */
export async function importDatasetService(
  db: Db,
  req: { projectId: number; root: string; name?: string; valFraction?: number },
  limits: { maxEntries?: number } = {},
): Promise<DatasetDetail> {
  let root: string
  try {
    root = await realpath(req.root)
  } catch {
    throw new ApiError('not_found', `${req.root}: no such folder`)
  }
  if (!(await stat(root)).isDirectory()) throw new ApiError('not_a_folder', `${root}: not a folder`)
  const imported = await importDataset(root, { valFraction: req.valFraction ?? 0.1, verify: 'header', maxEntries: limits.maxEntries }).catch(walkError)
  if (!imported.classes.length) {
    throw new ApiError('no_classes', `${root}: no class folders with images found (expected one sub-folder per class, or train/val/test sub-folders)`)
  }
  return saveDataset(db, req.projectId, req.name?.trim() || basename(root), imported.report)
}

export function requireDataset(db: Db, id: number): DatasetDetail {
  const d = getDataset(db, id)
  if (!d) throw new ApiError('not_found', `dataset ${id} does not exist`)
  return d
}

/**
 * The split names a dataset answers to: those of its stored import report ('train' | 'val' | 'test' for a
 * train/val/test layout; the one implicit split, plus a held-out val, for a flat ImageFolder).
 */
export function datasetSplits(d: DatasetDetail): string[] {
  const names = Object.keys(d.report.splits ?? {})
  if (names.length > 0) return names
  return d.report.layout === 'splits' ? [] : ['train']
}

/** `split` when it is one of the dataset's splits, else a bad_request naming the allowed values. */
export function requireSplit(d: DatasetDetail, split: unknown): string {
  const allowed = datasetSplits(d)
  if (typeof split === 'string' && allowed.includes(split)) return split
  const list = allowed.length ? allowed.map((s) => `'${s}'`).join(', ') : '(none: the dataset has no usable split)'
  throw new ApiError('bad_request', `split: one of ${list} for dataset ${d.id} (${d.name}); got ${shown(split)}`)
}

/** The folder holding a split's images: the dataset root, or its train / val / test sub-folder. */
async function splitFolder(d: DatasetDetail, split: string): Promise<string> {
  let real: string
  try {
    real = await realpath(d.root)
  } catch {
    throw new ApiError('not_found', `${d.root}: the dataset folder is gone`)
  }
  // the root was stored as a realpath: if it resolves elsewhere now, it was replaced by a link
  if (real !== d.root) throw new ApiError('forbidden', `${d.root}: the dataset folder now resolves to ${real}; import it again`)
  if (d.report.layout !== 'splits') return d.root
  const { dirs } = await detectLayoutAsync(d.root).catch(walkError)
  // a val split held out of train (no val folder) is previewed from the train folder, as in a flat ImageFolder
  const dir = dirs[split as SplitName] ?? (split === 'val' && d.report.valFrom ? dirs.train : undefined)
  if (!dir) throw new ApiError('not_found', `${d.root}: no '${split}' folder any more; import the dataset again`)
  return dir
}

/** Up to `perClass` images of each class of one split (first files in sorted order); the request passed its schema. */
export async function previewDataset(db: Db, req: { id: number; split: string; perClass: number }): Promise<ImageRef[]> {
  const perClass = req.perClass
  const d = requireDataset(db, req.id)
  const split = requireSplit(d, req.split)
  const folder = await splitFolder(d, split)
  // off the event loop, links confined to the dataset root, each class walked only until it has perClass images
  const index = await indexImageFolderAsync(folder, { split, within: d.root, maxPerClass: perClass }).catch(walkError)
  const taken = new Map<string, number>()
  const out: ImageRef[] = []
  for (const f of index.files) {
    const n = taken.get(f.className) ?? 0
    if (n >= perClass) continue
    taken.set(f.className, n + 1)
    out.push({ path: f.path, label: d.classes.indexOf(f.className), className: f.className })
  }
  return out
}

/** Extra roots images may be served from (the demo data); datasets are looked up in the store. */
export async function imageThumbnail(db: Db, extraRoots: string[], req: { path: string; size?: number }): Promise<{ dataUrl: string; width: number; height: number }> {
  let real: string
  try {
    real = await realpath(req.path)
  } catch {
    throw new ApiError('not_found', `${req.path}: no such image`)
  }
  const roots = [...datasetRoots(db), ...extraRoots]
  if (!roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep))) {
    throw new ApiError('forbidden', `${req.path}: not inside a registered dataset`)
  }
  const size = Math.max(16, Math.min(512, Math.floor(req.size ?? 96)))
  try {
    const img = sharp(real, { limitInputPixels: 100_000_000 }).rotate()
    const meta = await img.metadata()
    const small = (meta.width ?? size) <= 64 && (meta.height ?? size) <= 64
    const buf = await img.resize(size, size, { fit: 'inside', kernel: small ? 'nearest' : 'lanczos3' }).png().toBuffer()
    return { dataUrl: `data:image/png;base64,${buf.toString('base64')}`, width: meta.width ?? 0, height: meta.height ?? 0 }
  } catch (e) {
    throw new ApiError('bad_image', `${req.path}: cannot decode (${(e as Error).message.split('\n')[0]})`)
  }
}
