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

/** Inserts or (same project + name) replaces a dataset with its import report. */
export function saveDataset(db: Db, projectId: number, name: string, report: ImportReport): DatasetDetail {
  db.prepare(
    `INSERT INTO datasets (project_id, name, root, classes_json, report_json) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (project_id, name) DO UPDATE SET root = excluded.root, classes_json = excluded.classes_json, report_json = excluded.report_json`,
  ).run(projectId, name, report.root, JSON.stringify(report.classes), JSON.stringify(report))
  const row = db.prepare('SELECT * FROM datasets WHERE project_id = ? AND name = ?').get(projectId, name) as DatasetRow
  return toDataset(row)
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

/** Every registered dataset root (images are served only from under these). */
export function datasetRoots(db: Db): string[] {
  return (db.prepare('SELECT DISTINCT root FROM datasets').all() as { root: string }[]).map((r) => r.root)
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

export function saveModel(db: Db, projectId: number, name: string, info: ModelInfo): ModelSummary {
  db.prepare(
    `INSERT INTO models (project_id, name, path, arch, format, summary_json) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (project_id, name) DO UPDATE SET path = excluded.path, arch = excluded.arch, format = excluded.format, summary_json = excluded.summary_json`,
  ).run(projectId, name, info.path, info.arch, info.format, JSON.stringify(info))
  return toModel(db.prepare('SELECT * FROM models WHERE project_id = ? AND name = ?').get(projectId, name) as ModelRow)
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
