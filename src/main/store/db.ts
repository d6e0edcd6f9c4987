import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from './migrations'

export type Db = Database.Database

export interface OpenStoreOptions {
  /** better-sqlite3 native binding to use (Electron passes its own ABI build) */
  nativeBinding?: string
}

/** Opens (creating if needed) the store in `dataDir/daft.sqlite`: WAL mode, foreign keys, migrations applied. */
export function openStore(dataDir: string, opts: OpenStoreOptions = {}): Db {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'daft.sqlite')
  const db = new Database(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {})
  db.pragma('journal_mode = WAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)
  return db
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Applies every migration past the store's `user_version`, each in its own transaction. */
export function migrate(db: Db): number {
  const from = schemaVersion(db)
  if (from > MIGRATIONS.length) {
    throw new Error(`store schema version ${from} is newer than this build knows (${MIGRATIONS.length}); update the workbench`)
  }
  for (let v = from; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v])
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
  return schemaVersion(db)
}
