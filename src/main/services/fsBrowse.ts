import { readdir, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { ApiError } from '../../shared/api'
import type { DirListing } from '../../shared/types'

/** Lists a folder for the browser's folder picker: sub-folders first, hidden entries left out. */
export async function listDir(path?: string): Promise<DirListing> {
  const abs = resolve(path || homedir())
  let st
  try {
    st = await stat(abs)
  } catch {
    throw new ApiError('not_found', `${abs}: no such folder`)
  }
  if (!st.isDirectory()) throw new ApiError('not_a_folder', `${abs}: not a folder`)
  let names: import('node:fs').Dirent[]
  try {
    names = await readdir(abs, { withFileTypes: true })
  } catch (e) {
    throw new ApiError('unreadable', `${abs}: cannot read folder (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const entries = names
    .filter((d) => !d.name.startsWith('.'))
    .map((d) => ({ name: d.name, path: join(abs, d.name), isDir: d.isDirectory() }))
    .sort((a, b) => (a.isDir === b.isDir ? a.name.localeCompare(b.name) : a.isDir ? -1 : 1))
  const parent = dirname(abs)
  return { path: abs, parent: parent === abs ? null : parent, entries }
}
