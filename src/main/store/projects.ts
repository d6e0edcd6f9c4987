/** Projects: the rows and counts the project service builds on. Parameterised statements only. */
import type { Db } from './db'
import type { ProjectSummary } from '../../shared/types'

export function builtInProject(db: Db): { id: number; description: string } | undefined {
  return db.prepare('SELECT id, description FROM projects WHERE built_in = 1').get() as { id: number; description: string } | undefined
}

export function setProjectDescription(db: Db, id: number, description: string): void {
  db.prepare('UPDATE projects SET description = ? WHERE id = ?').run(description, id)
}

export function createProject(db: Db, name: string, description: string, builtIn: boolean): number {
  return Number(db.prepare('INSERT INTO projects (name, description, built_in) VALUES (?, ?, ?)').run(name, description, builtIn ? 1 : 0).lastInsertRowid)
}

/** Every project with its dataset, model and experiment counts, the built-in one first. */
export function projectRows(db: Db): (Omit<ProjectSummary, 'builtIn'> & { builtIn: number })[] {
  return db
    .prepare(
      `SELECT p.id, p.name, p.description, p.built_in AS builtIn, p.created_at AS createdAt,
        (SELECT COUNT(*) FROM datasets d WHERE d.project_id = p.id) AS datasets,
        (SELECT COUNT(*) FROM models m WHERE m.project_id = p.id) AS models,
        (SELECT COUNT(*) FROM experiments e WHERE e.project_id = p.id) AS experiments
       FROM projects p ORDER BY p.built_in DESC, p.id`,
    )
    .all() as (Omit<ProjectSummary, 'builtIn'> & { builtIn: number })[]
}

/** How many of `names` a project has registered as datasets or models. */
export function countNamed(db: Db, projectId: number, table: 'datasets' | 'models', names: readonly string[]): number {
  if (!names.length) return 0
  const sql = `SELECT COUNT(*) AS n FROM ${table === 'datasets' ? 'datasets' : 'models'} WHERE project_id = ? AND name IN (${names.map(() => '?').join(', ')})`
  return (db.prepare(sql).get(projectId, ...names) as { n: number }).n
}
