/**
 * Experiments, runs and their metrics. Parameterised statements only. Every write that finishes a
 * piece of work (an epoch, a run) is its own transaction, so a crash loses nothing already finished.
 */
import type { Db } from './db'
import type { EpochMetrics, ExperimentSpec, RunSpec, RunStatus, RunSummary } from '../../shared/experiments'
import type { RunHealth } from '../../shared/health'
import { withRecipeDefaults } from '../../shared/recipes'

export function createExperiment(db: Db, projectId: number, spec: ExperimentSpec): number {
  return Number(db.prepare('INSERT INTO experiments (project_id, name, spec_json) VALUES (?, ?, ?)').run(projectId, spec.name, JSON.stringify(spec)).lastInsertRowid)
}

export function getExperiment(db: Db, id: number): { id: number; name: string; spec: ExperimentSpec } | undefined {
  const row = db.prepare('SELECT id, name, spec_json FROM experiments WHERE id = ?').get(id) as { id: number; name: string; spec_json: string } | undefined
  return row && { id: row.id, name: row.name, spec: JSON.parse(row.spec_json) as ExperimentSpec }
}

export function findExperiment(db: Db, idOrName: string): { id: number; name: string; spec: ExperimentSpec } | undefined {
  if (/^\d+$/.test(idOrName)) return getExperiment(db, Number(idOrName))
  const row = db.prepare('SELECT id FROM experiments WHERE name = ? ORDER BY id DESC LIMIT 1').get(idOrName) as { id: number } | undefined
  return row && getExperiment(db, row.id)
}

export function createRun(db: Db, experimentId: number, spec: RunSpec): number {
  return Number(
    db
      .prepare("INSERT INTO runs (experiment_id, method, role, spec_json, seed, status) VALUES (?, ?, ?, ?, ?, 'queued')")
      .run(experimentId, spec.recipe.label ?? spec.recipe.method, spec.role, JSON.stringify(spec), spec.seed).lastInsertRowid,
  )
}

export function getRunSpec(db: Db, runId: number): RunSpec {
  const row = db.prepare('SELECT spec_json FROM runs WHERE id = ?').get(runId) as { spec_json: string } | undefined
  if (!row) throw new Error(`run ${runId} does not exist`)
  const spec = JSON.parse(row.spec_json) as RunSpec
  return { ...spec, recipe: withRecipeDefaults(spec.recipe) }
}

export function getRunStatus(db: Db, runId: number): { status: RunStatus; checkpointEpoch: number | null; ownerPid: number | null } | undefined {
  const row = db.prepare('SELECT status, checkpoint_epoch AS checkpointEpoch, owner_pid AS ownerPid FROM runs WHERE id = ?').get(runId) as
    | { status: RunStatus; checkpointEpoch: number | null; ownerPid: number | null }
    | undefined
  return row
}

/** queued/interrupted -> running, owned by `pid`; false if the run was not claimable (someone else has it). */
export function claimRun(db: Db, runId: number, pid: number, backend: string | null): boolean {
  const r = db
    .prepare(
      `UPDATE runs SET status = 'running', owner_pid = ?, backend = ?, cancel_requested = 0, heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'),
         started_at = COALESCE(started_at, strftime('%Y-%m-%dT%H:%M:%fZ','now')), error = NULL
       WHERE id = ? AND status IN ('queued', 'interrupted')`,
    )
    .run(pid, backend, runId)
  return r.changes === 1
}

/** Measured training throughput of a run (for ETAs and sweep duration estimates). */
export function recordThroughput(db: Db, runId: number, imagesPerSec: number): void {
  db.prepare('UPDATE runs SET images_per_sec = ? WHERE id = ?').run(imagesPerSec, runId)
}

export function heartbeat(db: Db, runIds: number[]): void {
  const stmt = db.prepare("UPDATE runs SET heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = 'running'")
  db.transaction(() => runIds.forEach((id) => stmt.run(id)))()
}

export function requeueRun(db: Db, runId: number): boolean {
  return db.prepare("UPDATE runs SET status = 'queued', owner_pid = NULL WHERE id = ? AND status = 'interrupted'").run(runId).changes === 1
}

export function recordEpoch(db: Db, runId: number, m: EpochMetrics, checkpointEpoch?: number): void {
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO epoch_metrics (run_id, epoch, train_loss, lr_json, acc_json, seconds) VALUES (?, ?, ?, ?, ?, ?)').run(
      runId,
      m.epoch,
      m.trainLoss,
      JSON.stringify(m.lr),
      JSON.stringify(m.acc),
      m.seconds,
    )
    if (checkpointEpoch !== undefined) db.prepare('UPDATE runs SET checkpoint_epoch = ? WHERE id = ?').run(checkpointEpoch, runId)
  })()
}

/**
 * Per-batch losses for live curves. Long runs are downsampled: the first 2,000 steps are all kept, then
 * one step in ceil(step / 2,000), so a run stores O(2,000 log steps) points, never millions.
 */
export function keepBatchStep(step: number): boolean {
  return step < 2000 || step % Math.ceil(step / 2000) === 0
}

export function recordBatchLosses(db: Db, runId: number, rows: { step: number; epoch: number; loss: number }[]): void {
  const stmt = db.prepare('INSERT OR REPLACE INTO batch_losses (run_id, step, epoch, loss) VALUES (?, ?, ?, ?)')
  db.transaction(() => {
    for (const r of rows) if (keepBatchStep(r.step) && Number.isFinite(r.loss)) stmt.run(runId, r.step, r.epoch, r.loss)
  })()
}

/** Drops what a resumed run will redo: epochs past its checkpoint. */
export function truncateRunAfter(db: Db, runId: number, epoch: number): void {
  db.transaction(() => {
    db.prepare('DELETE FROM epoch_metrics WHERE run_id = ? AND epoch > ?').run(runId, epoch)
    db.prepare('DELETE FROM batch_losses WHERE run_id = ? AND epoch > ?').run(runId, epoch)
  })()
}

/** The run is 'running' and owned by `pid`: only then may that process write its results. */
export function ownsRun(db: Db, runId: number, pid: number): boolean {
  return db.prepare("SELECT 1 FROM runs WHERE id = ? AND status = 'running' AND owner_pid = ?").get(runId, pid) !== undefined
}

/**
 * Ends a run. With `owner`, only while that process still owns the running run (a run another process
 * took over, e.g. after marking it interrupted and resuming it, is left to its new owner): returns whether
 * the row was written.
 */
export function finishRun(
  db: Db,
  runId: number,
  status: Exclude<RunStatus, 'queued' | 'running'>,
  out: { bestEpoch?: number | null; final?: Record<string, number> | null; error?: string | null; health?: RunHealth | null; owner?: number } = {},
): boolean {
  const guard = out.owner === undefined ? '' : " AND status = 'running' AND owner_pid = ?"
  const args: unknown[] = [status, out.bestEpoch ?? null, out.final ? JSON.stringify(out.final) : null, out.error ?? null, out.health ? JSON.stringify(out.health) : null, runId]
  if (out.owner !== undefined) args.push(out.owner)
  return (
    db
      .prepare(`UPDATE runs SET status = ?, best_epoch = ?, final_json = ?, error = ?, health_json = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?${guard}`)
      .run(...args).changes === 1
  )
}

/** Asks whoever runs `runId` (maybe another process) to stop it; its runner sees the flag on its next heartbeat. */
export function requestCancel(db: Db, runId: number): boolean {
  return db.prepare("UPDATE runs SET cancel_requested = 1 WHERE id = ? AND status = 'running'").run(runId).changes === 1
}

export function cancelRequested(db: Db, runId: number): boolean {
  return ((db.prepare('SELECT cancel_requested AS c FROM runs WHERE id = ?').get(runId) as { c: number } | undefined)?.c ?? 0) === 1
}

export function cancelQueued(db: Db, runId: number): boolean {
  return db.prepare("UPDATE runs SET status = 'cancelled', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = 'queued'").run(runId).changes === 1
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs left 'running' by a process that is gone become 'interrupted' (resumable). A run whose owner is
 * alive is left alone unless its heartbeat is older than `staleSeconds` (a hung or recycled pid).
 */
export function recoverInterrupted(db: Db, staleSeconds = 120, opts: { keepRemote?: boolean } = {}): number[] {
  // keepRemote: runs trained by queue workers are left to the queue runner (jobs/queue/remoteRunner.ts), which reads their state back
  const rows = db
    .prepare(`SELECT id, owner_pid AS pid, (julianday('now') - julianday(heartbeat_at)) * 86400 AS age FROM runs WHERE status = 'running'${opts.keepRemote ? ' AND remote_job IS NULL' : ''}`)
    .all() as { id: number; pid: number | null; age: number | null }[]
  const gone = rows.filter((r) => r.pid === null || !pidAlive(r.pid) || (r.age ?? Infinity) > staleSeconds).map((r) => r.id)
  const stmt = db.prepare("UPDATE runs SET status = 'interrupted', error = 'the process running it stopped (crash or kill); resume continues from the last epoch checkpoint' WHERE id = ? AND status = 'running'")
  db.transaction(() => gone.forEach((id) => stmt.run(id)))()
  return gone
}

export function listRuns(db: Db, filter: { experimentId?: number; status?: RunStatus; runId?: number } = {}): RunSummary[] {
  const where: string[] = []
  const args: unknown[] = []
  const add = (clause: string, value: unknown): void => {
    where.push(clause)
    args.push(value)
  }
  if (filter.runId !== undefined) add('r.id = ?', filter.runId)
  if (filter.experimentId !== undefined) add('r.experiment_id = ?', filter.experimentId)
  if (filter.status) add('r.status = ?', filter.status)
  const rows = db
    .prepare(
      `SELECT r.id, r.experiment_id AS experimentId, e.name AS experiment, r.method, r.seed, r.role, r.status, r.backend,
              r.best_epoch AS bestEpoch, r.final_json, r.error, r.created_at AS createdAt, r.started_at AS startedAt,
              r.finished_at AS finishedAt, r.images_per_sec AS imagesPerSec, r.spec_json, r.health_json, r.worker
       FROM runs r JOIN experiments e ON e.id = r.experiment_id
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY r.id`,
    )
    .all(...args) as (Omit<RunSummary, 'final' | 'lr' | 'health'> & { final_json: string | null; spec_json: string; health_json: string | null })[]
  return rows.map(({ final_json, spec_json, health_json, ...r }) => {
    const spec = JSON.parse(spec_json) as RunSpec
    return {
      ...r,
      final: final_json ? (JSON.parse(final_json) as Record<string, number>) : null,
      lr: spec.recipe.lr,
      epochs: spec.recipe.epochs,
      baseMethod: spec.recipe.method,
      bnMomentum: withRecipeDefaults(spec.recipe).bnMomentum,
      health: health_json ? (JSON.parse(health_json) as RunHealth) : null,
    }
  })
}

export function runEpochs(db: Db, runId: number): EpochMetrics[] {
  const rows = db.prepare('SELECT epoch, train_loss AS trainLoss, lr_json, acc_json, seconds FROM epoch_metrics WHERE run_id = ? ORDER BY epoch').all(runId) as {
    epoch: number
    trainLoss: number | null
    lr_json: string
    acc_json: string
    seconds: number
  }[]
  return rows.map(({ lr_json, acc_json, ...r }) => ({ ...r, lr: JSON.parse(lr_json), acc: JSON.parse(acc_json) }))
}

export function runBatchLosses(db: Db, runId: number, afterStep = -1): { step: number; epoch: number; loss: number }[] {
  return db.prepare('SELECT step, epoch, loss FROM batch_losses WHERE run_id = ? AND step > ? ORDER BY step').all(runId, afterStep) as { step: number; epoch: number; loss: number }[]
}

/** Records a file a run wrote; a file rewritten in place (the rolling epoch checkpoint) keeps one row. */
export function addArtifact(db: Db, runId: number | null, kind: string, path: string, sha256: string, bytes: number): number {
  return db.transaction(() => {
    db.prepare('DELETE FROM artifacts WHERE run_id IS ? AND kind = ? AND path = ?').run(runId, kind, path)
    return Number(db.prepare('INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)').run(runId, kind, path, sha256, bytes).lastInsertRowid)
  })()
}

export interface FileRecord {
  path: string
  sha256: string
  bytes: number
}

/** The checkpoints the store knows for a run (the newest, and the previous one while the run trains). */
export function checkpointArtifacts(db: Db, runId: number): FileRecord[] {
  return db.prepare("SELECT path, sha256, bytes FROM artifacts WHERE run_id = ? AND kind = 'checkpoint' ORDER BY id").all(runId) as FileRecord[]
}

/**
 * A new epoch checkpoint at `saved.path`: what was recorded there moves to `previousPath`, as the engine
 * renamed the folder (checkpoint -> checkpoint.prev), so both hashes stay known for a resume to check.
 */
export function recordCheckpoint(db: Db, runId: number, saved: FileRecord, previousPath: string): void {
  db.transaction(() => {
    const row = db.prepare("SELECT sha256, bytes FROM artifacts WHERE run_id = ? AND kind = 'checkpoint' AND path = ?").get(runId, saved.path) as
      | { sha256: string; bytes: number }
      | undefined
    if (row && row.sha256 !== saved.sha256) addArtifact(db, runId, 'checkpoint', previousPath, row.sha256, row.bytes)
    addArtifact(db, runId, 'checkpoint', saved.path, saved.sha256, saved.bytes)
  })()
}

/**
 * After a resume checked the run's checkpoints: the run continues from `epoch` finished epochs (null: from
 * the start) with `kept` as its only checkpoint records.
 */
export function resetCheckpoints(db: Db, runId: number, epoch: number | null, kept: FileRecord[]): void {
  db.transaction(() => {
    db.prepare('UPDATE runs SET checkpoint_epoch = ? WHERE id = ?').run(epoch, runId)
    db.prepare("DELETE FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'").run(runId)
    for (const k of kept) addArtifact(db, runId, 'checkpoint', k.path, k.sha256, k.bytes)
  })()
}

/** Forgets a file record (a file the run removed). */
export function removeArtifact(db: Db, runId: number, kind: string, path: string): void {
  db.prepare('DELETE FROM artifacts WHERE run_id = ? AND kind = ? AND path = ?').run(runId, kind, path)
}

/** The oldest queued run (FIFO), if any. */
export function nextQueuedRun(db: Db): number | undefined {
  return (db.prepare("SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1").get() as { id: number } | undefined)?.id
}

/** A run's experiment and status (after it ended: analysis and sweep steps). */
export function runExperimentStatus(db: Db, runId: number): { experimentId: number; status: RunStatus } | undefined {
  return db.prepare('SELECT experiment_id AS experimentId, status FROM runs WHERE id = ?').get(runId) as { experimentId: number; status: RunStatus } | undefined
}

/** A project's experiments with their run counts. */
export function listExperimentRows(db: Db, projectId: number): { id: number; name: string; createdAt: string; runs: number }[] {
  return db
    .prepare('SELECT e.id, e.name, e.created_at AS createdAt, (SELECT COUNT(*) FROM runs r WHERE r.experiment_id = e.id) AS runs FROM experiments e WHERE e.project_id = ? ORDER BY e.id')
    .all(projectId) as { id: number; name: string; createdAt: string; runs: number }[]
}
