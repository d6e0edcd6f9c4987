import Database from 'better-sqlite3'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from './migrations'
import { ensureDataDir } from '../dataDir'

export type Db = Database.Database

export interface OpenStoreOptions {
  /** better-sqlite3 native binding to use (Electron passes its own ABI build) */
  nativeBinding?: string
}

/**
 * Opens (creating if needed) the store in `dataDir/daft.sqlite`: WAL mode, foreign keys, migrations applied.
 * The data directory is created 0700 (main/dataDir.ts) and a new store file 0600 (SQLite gives its -wal
 * and -shm files the store's mode); an existing store file keeps its mode.
 */
export function openStore(dataDir: string, opts: OpenStoreOptions = {}): Db {
  const dir = ensureDataDir(dataDir)
  if (dir.tightened) console.warn(`data directory ${dataDir} was readable by other users; it is now 0700`)
  if (dir.warning) console.warn(`warning: ${dir.warning}`)
  const file = join(dataDir, 'daft.sqlite')
  // create the file ourselves so it is private from the first byte ('a': never truncates an existing store)
  closeSync(openSync(file, 'a', 0o600))
  const db = new Database(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {})
  // first: a second process opening the same new store waits for the first instead of failing
  db.pragma('busy_timeout = 5000')
  setWal(db)
  db.pragma('foreign_keys = ON')
  migrate(db)
  return db
}

/**
 * Switches a store to WAL. When two processes open a NEW store at the same moment, SQLite can answer the
 * journal-mode change with SQLITE_BUSY at once (the busy handler is not consulted for it): retry a while.
 */
function setWal(db: Db): void {
  for (let attempt = 0; ; attempt++) {
    try {
      db.pragma('journal_mode = WAL')
      return
    } catch (e) {
      const code = (e as { code?: string }).code
      if (attempt >= 100 || (code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED')) throw e
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.floor(Math.random() * 30))
    }
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

function refuseNewer(v: number): void {
  if (v > MIGRATIONS.length) {
    throw new Error(`store schema version ${v} is newer than this build knows (${MIGRATIONS.length}); update the workbench`)
  }
}

/**
 * Applies every migration past the store's `user_version`, each in its own IMMEDIATE transaction that
 * re-reads `user_version` after taking the write lock: two processes upgrading the same store at once
 * apply each migration once (the second one waits, then finds it done).
 */
export function migrate(db: Db): number {
  const seen = schemaVersion(db)
  refuseNewer(seen)
  if (seen === MIGRATIONS.length) return seen // up to date: no write lock needed
  const busy = db.pragma('busy_timeout', { simple: true }) as number
  // a large migration in another process may hold the lock for a while
  db.pragma('busy_timeout = 60000')
  try {
    const step = db.transaction((): boolean => {
      const v = schemaVersion(db)
      refuseNewer(v)
      if (v >= MIGRATIONS.length) return false
      db.exec(MIGRATIONS[v])
      db.pragma(`user_version = ${v + 1}`)
      return true
    })
    while (step.immediate()) {
      // one migration per transaction
    }
  } finally {
    db.pragma(`busy_timeout = ${busy}`)
  }
  return schemaVersion(db)
}
