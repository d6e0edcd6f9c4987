/**
 * Runs trained by queue workers (jobs/queue/) and the small settings table: the store stays the one record; the
 * app that owns the experiment writes what its workers report (jobs/queue/remoteRunner.ts).
 */
import { randomUUID } from 'node:crypto'
import type { Db } from './db'
import type { RunStatus } from '../../shared/experiments'

export function getSetting(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value
}

/** Sets (or, with null, removes) a setting. */
export function setSetting(db: Db, key: string, value: string | null): void {
  if (value === null) db.prepare('DELETE FROM settings WHERE key = ?').run(key)
  else db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
}

/** This store's identity (created once): jobs of two stores on one Redis never mix. */
export function storeId(db: Db): string {
  const have = getSetting(db, 'store.id')
  if (have) return have
  const id = randomUUID().replace(/-/g, '').slice(0, 16)
  db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)').run('store.id', id)
  return getSetting(db, 'store.id')!
}

/** Runs waiting for the engine, oldest first. */
export function queuedRuns(db: Db): number[] {
  return (db.prepare("SELECT id FROM runs WHERE status = 'queued' ORDER BY id").all() as { id: number }[]).map((r) => r.id)
}

/** A run handed to the queue: its job id and its folder on the shared storage (the app's path). */
export function markQueuedRemote(db: Db, runId: number, jobId: string, runDir: string): void {
  db.prepare('UPDATE runs SET remote_job = ?, run_dir = ? WHERE id = ?').run(jobId, runDir, runId)
}

export interface RemoteRunRow {
  id: number
  status: RunStatus
  remoteJob: string
  runDir: string | null
  worker: string | null
}

/** Remote runs not finished in the store (queued, running, interrupted): the ones a reconnecting app replays. */
export function openRemoteRuns(db: Db): RemoteRunRow[] {
  return db
    .prepare("SELECT id, status, remote_job AS remoteJob, run_dir AS runDir, worker FROM runs WHERE remote_job IS NOT NULL AND status IN ('queued', 'running', 'interrupted') ORDER BY id")
    .all() as RemoteRunRow[]
}

export function remoteRun(db: Db, runId: number): RemoteRunRow | undefined {
  return db.prepare('SELECT id, status, remote_job AS remoteJob, run_dir AS runDir, worker FROM runs WHERE id = ?').get(runId) as RemoteRunRow | undefined
}

/** A worker started (or resumed) the run: it is running there; the store shows which worker and backend. */
export function markRemoteRunning(db: Db, runId: number, worker: string, backend: string | null): boolean {
  return (
    db
      .prepare(
        `UPDATE runs SET status = 'running', owner_pid = NULL, worker = ?, backend = ?, cancel_requested = 0, error = NULL,
           heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'), started_at = COALESCE(started_at, strftime('%Y-%m-%dT%H:%M:%fZ','now'))
         WHERE id = ? AND status IN ('queued', 'interrupted', 'running')`,
      )
      .run(worker, backend, runId).changes === 1
  )
}

/** The folder a run's files are in when it is not the default <dataDir>/runs/<id> (a run trained by a worker). */
export function recordedRunDir(db: Db, runId: number): string | null {
  return (db.prepare('SELECT run_dir AS d FROM runs WHERE id = ?').get(runId) as { d: string | null } | undefined)?.d ?? null
}
