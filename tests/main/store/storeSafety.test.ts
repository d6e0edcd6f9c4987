/**
 * The store under concurrency and the data directory's permissions: two processes upgrading the same new
 * store at once both succeed (each migration applied once); the data directory is private.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openStore } from '../../../src/main/store/db'
import { MIGRATIONS } from '../../../src/main/store/migrations'
import { ROOT } from '../../helpers/paths'

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'daft-store-safety-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  vi.restoreAllMocks()
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})

const mode = (p: string): number => statSync(p).mode & 0o777

/** A helper process that opens stores on command; resolves once it is ready. */
function opener(storeDirs: string[]): Promise<{ child: ChildProcessWithoutNullStreams; next: () => Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tests', 'main', 'store', 'fixtures', 'openStoreRace.ts'), ...storeDirs], { cwd: ROOT })
  const lines: string[] = []
  const waiters: ((l: string) => void)[] = []
  let buf = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  child.stdout.on('data', (d) => {
    buf += d
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      const w = waiters.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  const next = (): Promise<string> =>
    lines.length
      ? Promise.resolve(lines.shift()!)
      : new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`helper said nothing for 60 s; stderr:\n${err}`)), 60_000)
          waiters.push((l) => (clearTimeout(t), resolve(l)))
        })
  return next().then((first) => {
    expect(first).toBe('READY')
    return { child, next }
  })
}

describe('concurrent upgrades', () => {
  it('two processes opening the same new store at once both succeed, and every migration runs once', async () => {
    const root = tmp()
    const stores = Array.from({ length: 6 }, (_, i) => join(root, `store-${i}`))
    const [a, b] = await Promise.all([opener(stores), opener(stores)])
    try {
      for (let i = 0; i < stores.length; i++) {
        // both processes are waiting on stdin: "go" reaches them together
        a.child.stdin.write(`go ${i}\n`)
        b.child.stdin.write(`go ${i}\n`)
        const [ra, rb] = await Promise.all([a.next(), b.next()])
        expect([ra, rb]).toEqual([`OK ${i} ${MIGRATIONS.length}`, `OK ${i} ${MIGRATIONS.length}`])
        const db = new Database(join(stores[i], 'daft.sqlite'), { readonly: true })
        expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
        const runsCols = (db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name)
        expect(new Set(runsCols).size).toBe(runsCols.length)
        db.close()
      }
    } finally {
      a.child.kill()
      b.child.kill()
    }
  })
})

describe('data directory permissions', () => {
  it('a new data directory, its runs/ and cache/ are 0700 and the store 0600', () => {
    const dir = join(tmp(), 'nested', 'daft-data')
    const db = openStore(dir)
    db.exec('CREATE TABLE IF NOT EXISTS t (x)')
    db.prepare('INSERT INTO t VALUES (1)').run()
    expect(mode(dir)).toBe(0o700)
    expect(mode(join(dir, 'runs'))).toBe(0o700)
    expect(mode(join(dir, 'cache'))).toBe(0o700)
    expect(mode(join(dir, 'daft.sqlite'))).toBe(0o600)
    expect(mode(join(dir, 'daft.sqlite-wal'))).toBe(0o600)
    db.close()
  })

  it("an existing data directory of the workbench's is made 0700; its subfolders and foreign folders are left alone", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    // the CLI wrote the demo data before the store existed
    const ours = join(tmp(), 'data')
    mkdirSync(join(ours, 'demo-data'), { recursive: true })
    mkdirSync(join(ours, 'runs'))
    chmodSync(ours, 0o755)
    chmodSync(join(ours, 'runs'), 0o755)
    openStore(ours).close()
    expect(mode(ours)).toBe(0o700)
    expect(mode(join(ours, 'runs'))).toBe(0o755)
    expect(warn.mock.calls.flat().join('\n')).toMatch(/was readable by other users; it is now 0700/)

    // a folder with other things in it (say --data-dir ~) is not chmod'ed: a warning says so
    const shared = join(tmp(), 'shared')
    mkdirSync(shared)
    writeFileSync(join(shared, 'notes.txt'), 'mine')
    chmodSync(shared, 0o755)
    openStore(shared).close()
    expect(mode(shared)).toBe(0o755)
    expect(warn.mock.calls.flat().join('\n')).toMatch(/can be read by other users \(mode 755\) and holds more than the workbench's files/)
  })
})
