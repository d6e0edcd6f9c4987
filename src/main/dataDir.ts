/**
 * The data directory's place and layout (the store, runs/, cache/): a leaf module the store, services, jobs and CLI
 * all read, so none of them imports another for it.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/** Serve mode / CLI data directory: --data-dir, else $DAFT_DATA_DIR, else the XDG data dir. */
export function defaultDataDir(explicit?: string): string {
  if (explicit) return resolve(explicit)
  if (process.env.DAFT_DATA_DIR) return resolve(process.env.DAFT_DATA_DIR)
  const xdg = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(xdg, 'daft-workbench')
}

/** Where a run's checkpoint, weights and exports live (the runner writes there, the services read). */
export function runDirOf(dataDir: string, runId: number): string {
  return join(dataDir, 'runs', String(runId))
}

/** What the workbench itself puts in its data directory. */
const OWN_ENTRIES = new Set(['daft.sqlite', 'daft.sqlite-wal', 'daft.sqlite-shm', 'daft.sqlite-journal', 'runs', 'cache', 'demo-data'])
/** Subfolders created up front, so they are private whichever process creates files in them first. */
const SUBFOLDERS = ['runs', 'cache']

export interface DataDirReport {
  created: boolean
  /** an existing data directory others could read was made 0700 */
  tightened: boolean
  /** why an existing data directory others can read was left as it is */
  warning?: string
}

/**
 * Creates the data directory (the store, runs with decoded images' statistics and weights, the decoded-image
 * cache) as 0700, and its `runs/` and `cache/` folders as 0700. Parent folders are created with the umask.
 * An existing data directory that others can read is made 0700 when it is the workbench's own (it holds the
 * store, or only what the workbench writes there, or nothing); a folder that holds other things (say
 * `--data-dir ~`) is never chmod'ed: a warning says so. Existing subfolders are left alone (the 0700 data
 * directory already keeps other users out). No-op on Windows, where folders have no POSIX modes.
 */
export function ensureDataDir(dir: string): DataDirReport {
  const posix = process.platform !== 'win32'
  let created = false
  if (!existsSync(dir)) {
    mkdirSync(dirname(dir), { recursive: true })
    try {
      mkdirSync(dir, { mode: 0o700 })
      created = true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    // mkdir's mode passes through the umask: set it exactly
    if (created && posix) chmodSync(dir, 0o700)
  }
  let tightened = false
  let warning: string | undefined
  if (!created && posix) {
    const st = statSync(dir)
    if ((st.mode & 0o077) !== 0) {
      const entries = readdirSync(dir)
      const ours = entries.includes('daft.sqlite') || entries.every((e) => OWN_ENTRIES.has(e))
      const shared = [homedir(), tmpdir(), '/'].map((p) => resolve(p)).includes(resolve(dir))
      const mine = typeof process.getuid !== 'function' || st.uid === process.getuid()
      if (ours && !shared && mine) {
        chmodSync(dir, 0o700)
        tightened = true
      } else {
        warning = `the data directory ${dir} can be read by other users (mode ${(st.mode & 0o777).toString(8)}) and holds more than the workbench's files, so it was left as it is; move the data elsewhere or chmod 700 it`
      }
    }
  }
  for (const sub of SUBFOLDERS) {
    const p = join(dir, sub)
    if (existsSync(p)) continue
    try {
      mkdirSync(p, { mode: 0o700 })
      if (posix) chmodSync(p, 0o700)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
  }
  return { created, tightened, ...(warning ? { warning } : {}) }
}
