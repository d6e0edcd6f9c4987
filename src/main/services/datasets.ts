/**
 * Dataset services: import a folder (report stored with the dataset), preview images per class, and
 * serve thumbnails of images under registered dataset roots only.
 */
import { realpath, stat } from 'node:fs/promises'
import { basename, sep } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../shared/api'
import type { DatasetDetail, ImageRef } from '../../shared/types'
import type { Db } from '../store/db'
import { datasetRoots, getDataset, saveDataset } from '../store/catalog'
import { importDataset } from '../engine/data/import'
import { indexImageFolder } from '../engine/data/folder'

export async function importDatasetService(db: Db, req: { projectId: number; root: string; name?: string; valFraction?: number }): Promise<DatasetDetail> {
  if (typeof req.root !== 'string' || !req.root.trim()) throw new ApiError('bad_request', 'root: the dataset folder is required')
  let root: string
  try {
    root = await realpath(req.root)
  } catch {
    throw new ApiError('not_found', `${req.root}: no such folder`)
  }
  if (!(await stat(root)).isDirectory()) throw new ApiError('not_a_folder', `${root}: not a folder`)
  const imported = await importDataset(root, { valFraction: req.valFraction ?? 0.1, verify: 'header' })
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

/** Up to `perClass` images of each class of one split (first files in sorted order). */
export async function previewDataset(db: Db, req: { id: number; split: string; perClass: number }): Promise<ImageRef[]> {
  const d = requireDataset(db, req.id)
  const layout = d.report.layout
  const index = await indexImageFolder(layout === 'splits' ? `${d.root}${sep}${req.split}` : d.root, { split: req.split })
  const perClass = Math.max(1, Math.min(64, Math.floor(req.perClass) || 8))
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
