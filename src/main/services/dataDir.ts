import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** Serve mode / CLI data directory: --data-dir, else $DAFT_DATA_DIR, else the XDG data dir. */
export function defaultDataDir(explicit?: string): string {
  if (explicit) return resolve(explicit)
  if (process.env.DAFT_DATA_DIR) return resolve(process.env.DAFT_DATA_DIR)
  const xdg = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(xdg, 'daft-workbench')
}
