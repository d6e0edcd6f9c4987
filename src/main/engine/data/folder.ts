/**
 * ImageFolder indexing (torchvision convention): one sub-folder per class, files found recursively,
 * classes in sorted order. Only names and stat() are read here; bad entries are recorded, never thrown.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { SkippedFile } from '../../../shared/datasets'
import { SUPPORTED_EXTENSIONS } from './decode'

export interface IndexedFile {
  path: string
  /** class folder name */
  className: string
  /** bytes */
  size: number
}

export interface FolderIndex {
  root: string
  /** sorted class folder names that hold at least one candidate image (all of them with keepEmptyClasses) */
  classes: string[]
  /** candidate images, grouped by class then sorted by path */
  files: IndexedFile[]
  skipped: SkippedFile[]
  hiddenIgnored: number
}

export interface IndexOptions {
  /** keep class folders without images in `classes` (they are still reported) */
  keepEmptyClasses?: boolean
  /** split / set name written into skipped entries */
  split?: string
  /** extensions accepted (lower case, with dot); default: what sharp reads here */
  extensions?: readonly string[]
}

/** Code-point order, like Python's sorted() (locale-independent, deterministic). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? ''
}

/** Sub-directories of `dir` (symlinks followed), sorted; unreadable entries reported. */
export function listDirs(dir: string, skipped: SkippedFile[], split?: string): string[] {
  const out: string[] = []
  for (const name of fs.readdirSync(dir).sort(byName)) {
    if (name.startsWith('.')) continue
    const full = path.join(dir, name)
    try {
      if (fs.statSync(full).isDirectory()) out.push(name)
    } catch (e) {
      const code = errCode(e)
      skipped.push({ path: full, reason: code === 'ELOOP' ? 'symlink-loop' : 'unreadable', detail: (e as Error).message, split })
    }
  }
  return out
}

/** Index `root` as an ImageFolder. Throws only when `root` itself is not a readable directory. */
export function indexImageFolder(root: string, opts: IndexOptions = {}): FolderIndex {
  const exts = new Set(opts.extensions ?? SUPPORTED_EXTENSIONS)
  const split = opts.split
  const skipped: SkippedFile[] = []
  let hiddenIgnored = 0
  let st: fs.Stats
  try {
    st = fs.statSync(root)
  } catch (e) {
    throw new Error(`${root}: cannot read dataset folder (${(e as Error).message})`)
  }
  if (!st.isDirectory()) throw new Error(`${root}: not a folder (an ImageFolder root holds one sub-folder per class)`)

  const files: IndexedFile[] = []
  const classes: string[] = []

  /** fs.statSync, or null with the entry recorded as skipped (loops and broken links named as such) */
  const statEntry = (full: string): fs.Stats | null => {
    try {
      return fs.statSync(full)
    } catch (e) {
      const code = errCode(e)
      if (code === 'ELOOP') skipped.push({ path: full, reason: 'symlink-loop', detail: 'symbolic link loop (too many levels of symbolic links)', split })
      else if (code === 'ENOENT') skipped.push({ path: full, reason: 'unreadable', detail: 'broken symbolic link (target missing)', split })
      else skipped.push({ path: full, reason: 'unreadable', detail: (e as Error).message, split })
      return null
    }
  }

  const walk = (dir: string, className: string, ancestors: Set<string>, acc: IndexedFile[]): void => {
    let names: string[]
    try {
      names = fs.readdirSync(dir).sort(byName)
    } catch (e) {
      skipped.push({ path: dir, reason: 'unreadable', detail: `cannot list folder: ${(e as Error).message}`, split })
      return
    }
    for (const name of names) {
      const full = path.join(dir, name)
      if (name.startsWith('.')) {
        hiddenIgnored++
        continue
      }
      const s = statEntry(full)
      if (!s) continue
      if (s.isDirectory()) {
        let real: string
        try {
          real = fs.realpathSync(full)
        } catch (e) {
          skipped.push({ path: full, reason: errCode(e) === 'ELOOP' ? 'symlink-loop' : 'unreadable', detail: (e as Error).message, split })
          continue
        }
        if (ancestors.has(real)) {
          skipped.push({ path: full, reason: 'symlink-loop', detail: `symbolic link points back to an enclosing folder (${real})`, split })
          continue
        }
        ancestors.add(real)
        walk(full, className, ancestors, acc)
        ancestors.delete(real)
        continue
      }
      if (!s.isFile()) {
        const kind = s.isFIFO() ? 'FIFO' : s.isSocket() ? 'socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'device' : 'special file'
        skipped.push({ path: full, reason: 'unreadable', detail: `not a regular file (${kind})`, split })
        continue
      }
      const ext = path.extname(name).toLowerCase()
      if (!exts.has(ext)) {
        skipped.push({ path: full, reason: 'not-an-image', detail: `extension '${ext || '(none)'}' is not a supported image format`, split })
        continue
      }
      if (s.size === 0) {
        skipped.push({ path: full, reason: 'corrupt', detail: 'zero-byte file', split })
        continue
      }
      acc.push({ path: full, className, size: s.size })
    }
  }

  let rootNames: string[]
  try {
    rootNames = fs.readdirSync(root).sort(byName)
  } catch (e) {
    throw new Error(`${root}: cannot list dataset folder (${(e as Error).message})`)
  }
  const rootReal = fs.realpathSync(root)
  for (const name of rootNames) {
    const full = path.join(root, name)
    if (name.startsWith('.')) {
      hiddenIgnored++
      continue
    }
    const s = statEntry(full)
    if (!s) continue
    if (!s.isDirectory()) {
      skipped.push({ path: full, reason: 'not-an-image', detail: 'file at the dataset root is outside any class folder', split })
      continue
    }
    const acc: IndexedFile[] = []
    const real = fs.realpathSync(full)
    walk(full, name, new Set([rootReal, real]), acc)
    if (acc.length === 0) {
      skipped.push({ path: full, reason: 'empty-class', detail: `class folder '${name}' holds no usable image`, split })
      if (opts.keepEmptyClasses) classes.push(name)
      continue
    }
    classes.push(name)
    files.push(...acc)
  }
  return { root, classes, files, skipped, hiddenIgnored }
}
