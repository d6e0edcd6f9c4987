/**
 * The shareable report of an experiment (`experiments.report`, `daft report`, Compare's "Download report"): gathers
 * the comparison, the stored analyses, the galleries (with thumbnails read only from the run's own registered
 * dataset roots) and the recipes, and hands them to the pure HTML writer in shared/report.ts.
 */
import { realpath } from 'node:fs/promises'
import { sep } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../shared/api'
import { compareRuns } from '../../shared/compare'
import { buildReportHtml, reportFileName, reportGalleryRuns, reportShiftedSet, type ReportData } from '../../shared/report'
import type { Recipe } from '../../shared/recipes'
import type { RunAnalysis } from '../../shared/types'
import type { Db } from '../store/db'
import * as runs from '../store/runs'
import { getAnalysis } from '../store/analysis'
import { datasetRoots } from '../store/catalog'
import { galleryService } from './analysis'

/** Images per class and end of a gallery, and the thumbnail size (px) */
export const REPORT_GALLERY_K = 4
export const REPORT_THUMB_SIZE = 64

const under = (p: string, root: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep)

async function real(p: string): Promise<string | null> {
  try {
    return await realpath(p)
  } catch {
    return null
  }
}

/**
 * The folders a run's images may be read from: the run's own data roots (ID and OOD), each only when it lies in a
 * dataset root registered in the store.
 */
async function runImageRoots(db: Db, runId: number): Promise<string[]> {
  const spec = runs.getRunSpec(db, runId)
  const registered = datasetRoots(db)
  const mine = await Promise.all([spec.data.id.root, ...Object.values(spec.data.ood).map((r) => r.root)].map(real))
  return mine.filter((p): p is string => p !== null && registered.some((r) => under(p, r)))
}

/** A PNG thumbnail as a data: URL, or null when the image is outside `roots` or does not decode. */
async function thumbnail(path: string, roots: string[]): Promise<string | null> {
  const p = await real(path)
  if (!p || !roots.some((r) => under(p, r))) return null
  try {
    const img = sharp(p, { limitInputPixels: 100_000_000 }).rotate()
    // never enlarged: a small image is embedded at its own size and the page scales it up (pixelated)
    const buf = await img.resize(REPORT_THUMB_SIZE, REPORT_THUMB_SIZE, { fit: 'inside', withoutEnlargement: true }).png({ compressionLevel: 9 }).toBuffer()
    return `data:image/png;base64,${buf.toString('base64')}`
  } catch {
    return null
  }
}

/** The data the report shows (exported for tests and other writers). */
export async function reportData(db: Db, experimentId: number, version: string): Promise<ReportData> {
  const exp = runs.getExperiment(db, experimentId)
  if (!exp) throw new ApiError('not_found', `experiment ${experimentId} does not exist`)
  const all = runs.listRuns(db, { experimentId })
  const table = compareRuns(experimentId, exp.name, all)
  const recipes: Record<number, Recipe> = {}
  for (const r of all) recipes[r.id] = runs.getRunSpec(db, r.id).recipe
  const analyses = all.filter((r) => r.status === 'succeeded').map((r) => getAnalysis(db, r.id)).filter((a): a is RunAnalysis => a !== null)

  let gallery: ReportData['gallery'] = null
  const thumbnails: Record<string, string> = {}
  const analysed = new Set(analyses.map((a) => a.runId))
  const pair = reportGalleryRuns(all, analysed)
  const setsOf = (id: number): string[] => analyses.find((a) => a.runId === id)?.sets.map((s) => s.set) ?? []
  const common = pair.length ? setsOf(pair[0].id).filter((s) => pair.every((r) => setsOf(r.id).includes(s))) : []
  const shift = analyses.find((a) => a.shift?.length)?.shift ?? []
  const chosen = reportShiftedSet(common, all, shift)
  if (chosen) {
    const columns = pair.map((r) => ({ run: { id: r.id, method: r.method, seed: r.seed }, gallery: galleryService(db, r.id, chosen.set, REPORT_GALLERY_K) }))
    for (const [i, c] of columns.entries()) {
      const roots = await runImageRoots(db, pair[i].id)
      for (const pc of c.gallery.perClass) {
        for (const it of [...pc.lowest, ...pc.highest]) {
          if (thumbnails[it.path]) continue
          const url = await thumbnail(it.path, roots)
          if (url) thumbnails[it.path] = url
        }
      }
    }
    gallery = { set: chosen.set, why: chosen.why, k: REPORT_GALLERY_K, columns }
  }
  return {
    generatedAt: new Date().toISOString(),
    versions: { app: version, node: process.version },
    experiment: { id: exp.id, name: exp.name, spec: exp.spec },
    table,
    runs: all,
    recipes,
    analyses,
    gallery,
    thumbnails,
  }
}

/** The report of an experiment as one self-contained HTML file, and the file name to suggest. */
export async function reportService(db: Db, experimentId: number, version: string): Promise<{ html: string; fileName: string }> {
  const data = await reportData(db, experimentId, version)
  return { html: buildReportHtml(data), fileName: reportFileName(experimentId, data.experiment.name) }
}
