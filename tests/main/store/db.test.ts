import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore, schemaVersion } from '../../../src/main/store/db'
import { MIGRATIONS } from '../../../src/main/store/migrations'
import { ensureDemoProject, listProjects } from '../../../src/main/services/projects'

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'daft-store-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})

describe('openStore', () => {
  it('creates a WAL-mode SQLite file with every migration applied', () => {
    const dir = tmp()
    const db = openStore(dir)
    expect(existsSync(join(dir, 'daft.sqlite'))).toBe(true)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]).map((r) => r.name)
    for (const t of ['projects', 'datasets', 'models', 'experiments', 'runs', 'epoch_metrics', 'batch_losses', 'artifacts']) {
      expect(tables).toContain(t)
    }
    db.close()
  })

  it('re-opening an up-to-date store changes nothing, and the demo project is created once', () => {
    const dir = tmp()
    const a = openStore(dir)
    const id = ensureDemoProject(a)
    a.close()
    const b = openStore(dir)
    expect(ensureDemoProject(b)).toBe(id)
    const projects = listProjects(b)
    expect(projects.filter((p) => p.builtIn)).toHaveLength(1)
    expect(projects[0].name).toMatch(/Demo/)
    b.close()
  })

  it('refuses a store written by a newer schema instead of corrupting it', () => {
    const dir = tmp()
    const raw = new Database(join(dir, 'daft.sqlite'))
    raw.pragma(`user_version = ${MIGRATIONS.length + 5}`)
    raw.close()
    expect(() => openStore(dir)).toThrow(/newer than this build/)
  })

  it('a reader in another connection is not blocked by an open write transaction (WAL)', () => {
    const dir = tmp()
    const writer = openStore(dir)
    ensureDemoProject(writer)
    const reader = new Database(join(dir, 'daft.sqlite'), { readonly: true })
    writer.exec('BEGIN IMMEDIATE')
    writer.prepare("INSERT INTO projects (name) VALUES ('p2')").run()
    // the reader sees the last committed state without waiting for the writer
    const count = (reader.prepare('SELECT COUNT(*) AS n FROM projects').get() as { n: number }).n
    expect(count).toBe(1)
    writer.exec('COMMIT')
    expect((reader.prepare('SELECT COUNT(*) AS n FROM projects').get() as { n: number }).n).toBe(2)
    reader.close()
    writer.close()
  })
})

describe('artifacts', () => {
  it('a checkpoint rewritten every epoch keeps one row with the latest hash', async () => {
    const { addArtifact } = await import('../../../src/main/store/runs')
    const db = openStore(tmp())
    addArtifact(db, null, 'checkpoint', '/x/checkpoint/weights.safetensors', 'aa', 10)
    addArtifact(db, null, 'checkpoint', '/x/checkpoint/weights.safetensors', 'bb', 12)
    addArtifact(db, null, 'final', '/x/final.safetensors', 'cc', 12)
    const rows = db.prepare('SELECT kind, sha256 FROM artifacts ORDER BY id').all()
    expect(rows).toEqual([
      { kind: 'checkpoint', sha256: 'bb' },
      { kind: 'final', sha256: 'cc' },
    ])
    db.close()
  })
})
