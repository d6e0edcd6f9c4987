/** Datasets and models registered in a project. */
import type { Db } from './db'
import type { ImportReport } from '../../shared/datasets'
import type { DatasetDetail, DatasetSummary, ModelSummary } from '../../shared/types'

interface DatasetRow {
  id: number
  project_id: number
  name: string
  root: string
  classes_json: string
  report_json: string
  created_at: string
}

function toDataset(r: DatasetRow): DatasetDetail {
  const report = JSON.parse(r.report_json) as ImportReport
  const counts: Record<string, number> = {}
  for (const [split, c] of Object.entries(report.splits)) counts[split] = c.total
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    root: r.root,
    classes: JSON.parse(r.classes_json) as string[],
    counts,
    skipped: report.skipped.length,
    createdAt: r.created_at,
    report,
  }
}

/**
 * Inserts or (same project + name) replaces a dataset with its import report. `fingerprint` is the content
 * fingerprint (services/catalog.ts); a replacement without one clears it (the content is not known to match).
 * Replacing an entry with a folder elsewhere drops the other paths its old content was known under.
 */
export function saveDataset(db: Db, projectId: number, name: string, report: ImportReport, fingerprint: string | null = null): DatasetDetail {
  return db.transaction(() => {
    const before = db.prepare('SELECT id, root FROM datasets WHERE project_id = ? AND name = ?').get(projectId, name) as { id: number; root: string } | undefined
    if (before && before.root !== report.root) db.prepare('DELETE FROM dataset_roots WHERE dataset_id = ?').run(before.id)
    db.prepare(
      `INSERT INTO datasets (project_id, name, root, classes_json, report_json, fingerprint) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (project_id, name) DO UPDATE SET root = excluded.root, classes_json = excluded.classes_json, report_json = excluded.report_json, fingerprint = excluded.fingerprint`,
    ).run(projectId, name, report.root, JSON.stringify(report.classes), JSON.stringify(report), fingerprint)
    const row = db.prepare('SELECT * FROM datasets WHERE project_id = ? AND name = ?').get(projectId, name) as DatasetRow
    return toDataset(row)
  })()
}

export function setDatasetFingerprint(db: Db, id: number, fingerprint: string | null): void {
  db.prepare('UPDATE datasets SET fingerprint = ? WHERE id = ?').run(fingerprint, id)
}

/** Records another real path holding a registered dataset's content (its images are served from there too). */
export function addDatasetRoot(db: Db, datasetId: number, root: string): void {
  db.prepare('INSERT OR IGNORE INTO dataset_roots (dataset_id, root) VALUES (?, ?)').run(datasetId, root)
}

/** What the catalog knows to tell datasets apart: root, content fingerprint, other real paths of the same content. */
export interface DatasetKey {
  id: number
  name: string
  root: string
  fingerprint: string | null
  /** further real paths where the same content was registered */
  roots: string[]
}

export function datasetKeys(db: Db, projectId: number): DatasetKey[] {
  const rows = db.prepare('SELECT id, name, root, fingerprint FROM datasets WHERE project_id = ? ORDER BY id').all(projectId) as Omit<DatasetKey, 'roots'>[]
  const aliases = db.prepare('SELECT root FROM dataset_roots WHERE dataset_id = ? ORDER BY root')
  return rows.map((r) => ({ ...r, roots: (aliases.all(r.id) as { root: string }[]).map((a) => a.root) }))
}

export function listDatasets(db: Db, projectId: number): DatasetSummary[] {
  const rows = db.prepare('SELECT * FROM datasets WHERE project_id = ? ORDER BY id').all(projectId) as DatasetRow[]
  return rows.map((r) => {
    const { report: _report, ...summary } = toDataset(r)
    return summary
  })
}

export function getDataset(db: Db, id: number): DatasetDetail | undefined {
  const row = db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRow | undefined
  return row && toDataset(row)
}

/** Every registered dataset root, and the other paths of the same content (images are served only from under these). */
export function datasetRoots(db: Db): string[] {
  return (db.prepare('SELECT root FROM datasets UNION SELECT root FROM dataset_roots').all() as { root: string }[]).map((r) => r.root)
}

interface ModelRow {
  id: number
  project_id: number
  name: string
  path: string
  arch: string
  format: string
  summary_json: string
  created_at: string
}

export type { ModelInfo } from '../engine/protocol'
import type { ModelInfo } from '../engine/protocol'

/** Inserts or (same project + name) replaces a model; `fingerprint` as for saveDataset (a replacement without one clears it). */
export function saveModel(db: Db, projectId: number, name: string, info: ModelInfo, fingerprint: string | null = null): ModelSummary {
  db.prepare(
    `INSERT INTO models (project_id, name, path, arch, format, summary_json, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (project_id, name) DO UPDATE SET path = excluded.path, arch = excluded.arch, format = excluded.format, summary_json = excluded.summary_json, fingerprint = excluded.fingerprint`,
  ).run(projectId, name, info.path, info.arch, info.format, JSON.stringify(info), fingerprint)
  return toModel(db.prepare('SELECT * FROM models WHERE project_id = ? AND name = ?').get(projectId, name) as ModelRow)
}

export interface ModelKey {
  id: number
  name: string
  path: string
  arch: string
  fingerprint: string | null
}

export function modelKeys(db: Db, projectId: number): ModelKey[] {
  return db.prepare('SELECT id, name, path, arch, fingerprint FROM models WHERE project_id = ? ORDER BY id').all(projectId) as ModelKey[]
}

/** The project named `name`, created (not built in) when missing. */
export function ensureProject(db: Db, name: string, description: string): number {
  // (another process may create it at the same moment: the name is unique)
  db.prepare('INSERT OR IGNORE INTO projects (name, description) VALUES (?, ?)').run(name, description)
  return (db.prepare('SELECT id FROM projects WHERE name = ?').get(name) as { id: number }).id
}

export function projectName(db: Db, id: number): string | undefined {
  return (db.prepare('SELECT name FROM projects WHERE id = ?').get(id) as { name: string } | undefined)?.name
}

function toModel(r: ModelRow): ModelSummary {
  const info = JSON.parse(r.summary_json) as ModelInfo
  return { ...info, id: r.id, projectId: r.project_id, name: r.name, createdAt: r.created_at }
}

export function listModels(db: Db, projectId: number): ModelSummary[] {
  return (db.prepare('SELECT * FROM models WHERE project_id = ? ORDER BY id').all(projectId) as ModelRow[]).map(toModel)
}

export function getModel(db: Db, id: number): ModelSummary | undefined {
  const row = db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRow | undefined
  return row && toModel(row)
}
