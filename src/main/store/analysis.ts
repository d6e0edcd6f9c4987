/** Stored analyses: the per-run summary (JSON), the per-image table behind the galleries, robustness. */
import type { Db } from './db'
import type { Gallery, GalleryItem, RobustnessReport, RunAnalysis } from '../../shared/types'

export interface ImageRows {
  set: string
  path: string[]
  label: ArrayLike<number>
  cosine: ArrayLike<number>
  l2: ArrayLike<number>
  predBefore: ArrayLike<number>
  predAfter: ArrayLike<number>
}

/** Replaces a run's analysis and its per-image rows in one transaction. */
export function saveAnalysis(db: Db, runId: number, analysis: Omit<RunAnalysis, 'computedAt'>, images: ImageRows[]): void {
  const ins = db.prepare('INSERT INTO analysis_images (run_id, set_name, idx, path, label, cosine, l2, pred_before, pred_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  db.transaction(() => {
    db.prepare('DELETE FROM analysis_images WHERE run_id = ?').run(runId)
    db.prepare('INSERT OR REPLACE INTO analyses (run_id, json) VALUES (?, ?)').run(runId, JSON.stringify(analysis))
    for (const s of images) {
      for (let i = 0; i < s.path.length; i++) ins.run(runId, s.set, i, s.path[i], s.label[i], s.cosine[i], s.l2[i], s.predBefore[i], s.predAfter[i])
    }
  })()
}

export function getAnalysis(db: Db, runId: number): RunAnalysis | null {
  const row = db.prepare('SELECT json, computed_at AS computedAt FROM analyses WHERE run_id = ?').get(runId) as { json: string; computedAt: string } | undefined
  return row ? { ...(JSON.parse(row.json) as Omit<RunAnalysis, 'computedAt'>), computedAt: row.computedAt } : null
}

/** Per class, the k lowest- and k highest-cosine images of one set (index-backed: fast for 100k images). */
export function gallery(db: Db, runId: number, set: string, classes: string[], k: number): Gallery {
  const labels = (db.prepare('SELECT DISTINCT label FROM analysis_images WHERE run_id = ? AND set_name = ? ORDER BY label').all(runId, set) as { label: number }[]).map((r) => r.label)
  const q = (dir: 'ASC' | 'DESC') =>
    db.prepare(
      `SELECT path, label, cosine, l2, pred_before AS predBefore, pred_after AS predAfter FROM analysis_images
       WHERE run_id = ? AND set_name = ? AND label = ? ORDER BY cosine ${dir}, idx LIMIT ?`,
    )
  const low = q('ASC')
  const high = q('DESC')
  const item = (r: Omit<GalleryItem, 'className'>): GalleryItem => ({ ...r, className: classes[r.label] ?? String(r.label) })
  return {
    runId,
    set,
    classes,
    perClass: labels.map((label) => ({
      label,
      className: classes[label] ?? String(label),
      lowest: (low.all(runId, set, label, k) as Omit<GalleryItem, 'className'>[]).map(item),
      highest: (high.all(runId, set, label, k) as Omit<GalleryItem, 'className'>[]).map(item),
    })),
  }
}

export function saveRobustness(db: Db, runId: number, report: RobustnessReport): void {
  db.prepare('INSERT OR REPLACE INTO robustness (run_id, json) VALUES (?, ?)').run(runId, JSON.stringify(report))
}

export function getRobustness(db: Db, runId: number): RobustnessReport | null {
  const row = db.prepare('SELECT json FROM robustness WHERE run_id = ?').get(runId) as { json: string } | undefined
  return row ? (JSON.parse(row.json) as RobustnessReport) : null
}
