/**
 * ImageFolder indexing (torchvision convention): one sub-folder per class, files found recursively,
 * classes in sorted order. Only names and stat() are read here; bad entries are recorded, never thrown.
 *
 * Confinement: a symbolic link is followed only when its target (realpath) lies inside the dataset folder
 * (`within`, default the indexed root); a link that leaves it is skipped and reported, never read or stat'ed.
 * The walk reads at most `maxEntries` directory entries (TooManyEntriesError beyond). It is written once
 * (indexWalk) and runs either synchronously (indexImageFolder) or off the event loop (indexImageFolderAsync,
 * used by the main process), see walk.ts.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { SkippedFile } from '../../../shared/datasets'
import { SUPPORTED_EXTENSIONS } from './decode'
import { ask, byName, DEFAULT_MAX_ENTRIES, isInside, runAsync, runSync, TooManyEntriesError, type FsProbe, type ListResult, type ProbeResult, type RealResult, type Walk } from './walk'

export { byName, DEFAULT_MAX_ENTRIES, TooManyEntriesError }

export interface IndexedFile {
  path: string
  /** class folder name */
  className: string
  /** bytes */
  size: number
}

export interface FolderIndex {
  root: string
  /** directory entries read (what maxEntries caps) */
  entries: number
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
  /**
   * links are followed only to targets inside this folder (default: `root`); pass the dataset root when
   * indexing one of its split folders, so a link from train/ into test/ still counts as inside
   */
  within?: string
  /** directory entries the walk may read before it stops with TooManyEntriesError (default 2,000,000) */
  maxEntries?: number
  /** stop walking a class once it has this many candidate images (a preview needs only the first few) */
  maxPerClass?: number
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

/** An entry of a listed folder: what it is (links resolved), or why it was left out. */
type Resolved = { name: string; full: string; real: string; probe: FsProbe } | { skip: SkippedFile }

const SPECIAL: Record<string, string> = { fifo: 'FIFO', socket: 'socket', device: 'device' }

function isFail(r: unknown): r is { error: { code: string; message: string } } {
  return typeof r === 'object' && r !== null && 'error' in r
}

/** The walk behind indexImageFolder / indexImageFolderAsync. */
export function* indexWalk(root: string, opts: IndexOptions = {}): Walk<FolderIndex> {
  const exts = new Set(opts.extensions ?? SUPPORTED_EXTENSIONS)
  const split = opts.split
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES
  const maxPerClass = opts.maxPerClass ?? Infinity
  const skipped: SkippedFile[] = []
  let hiddenIgnored = 0
  let entries = 0
  let work = 0

  // where the root really is, checked against `within` before anything under it is touched
  const [rr] = yield* ask<RealResult[]>({ op: 'realpath', paths: [root] })
  if (isFail(rr)) throw new Error(`${root}: cannot read dataset folder (${rr.error.message})`)
  const rootReal = rr.real
  let withinReal = rootReal
  if (opts.within !== undefined && opts.within !== root) {
    const [wr] = yield* ask<RealResult[]>({ op: 'realpath', paths: [opts.within] })
    if (isFail(wr)) throw new Error(`${opts.within}: cannot read dataset folder (${wr.error.message})`)
    withinReal = wr.real
  }
  if (!isInside(rootReal, withinReal)) {
    skipped.push({ path: root, reason: 'outside-root', detail: `link leaves the dataset folder: ${rootReal}`, split })
    return { root, entries, classes: [], files: [], skipped, hiddenIgnored }
  }
  const [st] = yield* ask<ProbeResult[]>({ op: 'stat', paths: [rootReal] })
  if (isFail(st)) throw new Error(`${root}: cannot read dataset folder (${st.error.message})`)
  if (st.kind !== 'dir') throw new Error(`${root}: not a folder (an ImageFolder root holds one sub-folder per class)`)

  /** sorted names of `dir`, counted against maxEntries */
  function* listSorted(dir: string): Walk<string[] | { error: { code: string; message: string } }> {
    const budget = maxEntries - entries
    const r = yield* ask<ListResult>({ op: 'list', dir, max: budget })
    if (isFail(r)) return r
    if (r.names.length > budget) throw new TooManyEntriesError(root, dir, maxEntries)
    entries += r.names.length
    return yield* ask<string[]>({ op: 'sort', items: r.names })
  }

  /** lstat every visible name; resolve links, keeping only those whose target stays inside `within` */
  function* resolve(dir: string, dirReal: string, names: string[]): Walk<Resolved[]> {
    const visible: string[] = []
    const fulls: string[] = []
    for (const name of names) {
      if ((++work & 1023) === 0) yield { op: 'tick' }
      if (name.startsWith('.')) hiddenIgnored++
      else {
        visible.push(name)
        fulls.push(path.join(dir, name))
      }
    }
    const lst = yield* ask<ProbeResult[]>({ op: 'lstat', paths: fulls })
    const out: Resolved[] = new Array(visible.length)
    const links: number[] = []
    for (let i = 0; i < visible.length; i++) {
      if ((++work & 1023) === 0) yield { op: 'tick' }
      const l = lst[i]
      const full = fulls[i]
      if (isFail(l)) out[i] = { skip: { path: full, reason: 'unreadable', detail: l.error.message, split } }
      else if (l.kind === 'link') links.push(i)
      else out[i] = { name: visible[i], full, real: path.join(dirReal, visible[i]), probe: l }
    }
    if (links.length === 0) return out
    const reals = yield* ask<RealResult[]>({ op: 'realpath', paths: links.map((i) => fulls[i]) })
    const inside: number[] = []
    const targets = new Map<number, string>()
    links.forEach((i, k) => {
      const r = reals[k]
      const full = fulls[i]
      if (isFail(r)) {
        const code = r.error.code
        if (code === 'ELOOP') out[i] = { skip: { path: full, reason: 'symlink-loop', detail: 'symbolic link loop (too many levels of symbolic links)', split } }
        else if (code === 'ENOENT') out[i] = { skip: { path: full, reason: 'unreadable', detail: 'broken symbolic link (target missing)', split } }
        else out[i] = { skip: { path: full, reason: 'unreadable', detail: r.error.message, split } }
      } else if (!isInside(r.real, withinReal)) {
        out[i] = { skip: { path: full, reason: 'outside-root', detail: `link leaves the dataset folder: ${r.real}`, split } }
      } else {
        inside.push(i)
        targets.set(i, r.real)
      }
    })
    if (inside.length === 0) return out
    const sts = yield* ask<ProbeResult[]>({ op: 'stat', paths: inside.map((i) => fulls[i]) })
    inside.forEach((i, k) => {
      const s = sts[k]
      const full = fulls[i]
      if (isFail(s)) {
        const code = s.error.code
        const detail = code === 'ELOOP' ? 'symbolic link loop (too many levels of symbolic links)' : code === 'ENOENT' ? 'broken symbolic link (target missing)' : s.error.message
        out[i] = { skip: { path: full, reason: code === 'ELOOP' ? 'symlink-loop' : 'unreadable', detail, split } }
      } else out[i] = { name: visible[i], full, real: targets.get(i)!, probe: s }
    })
    return out
  }

  function* walk(dir: string, dirReal: string, className: string, ancestors: Set<string>, acc: IndexedFile[]): Walk<void> {
    const names = yield* listSorted(dir)
    if (isFail(names)) {
      skipped.push({ path: dir, reason: 'unreadable', detail: `cannot list folder: ${names.error.message}`, split })
      return
    }
    const ents = yield* resolve(dir, dirReal, names)
    for (const e of ents) {
      if (acc.length >= maxPerClass) return
      if ((++work & 1023) === 0) yield { op: 'tick' }
      if ('skip' in e) {
        skipped.push(e.skip)
        continue
      }
      const { full, name, probe: s } = e
      if (s.kind === 'dir') {
        if (ancestors.has(e.real)) {
          skipped.push({ path: full, reason: 'symlink-loop', detail: `symbolic link points back to an enclosing folder (${e.real})`, split })
          continue
        }
        ancestors.add(e.real)
        yield* walk(full, e.real, className, ancestors, acc)
        ancestors.delete(e.real)
        continue
      }
      if (s.kind !== 'file') {
        skipped.push({ path: full, reason: 'unreadable', detail: `not a regular file (${SPECIAL[s.kind] ?? 'special file'})`, split })
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

  const rootNames = yield* listSorted(root)
  if (isFail(rootNames)) throw new Error(`${root}: cannot list dataset folder (${rootNames.error.message})`)
  const files: IndexedFile[] = []
  const classes: string[] = []
  for (const e of yield* resolve(root, rootReal, rootNames)) {
    if ('skip' in e) {
      skipped.push(e.skip)
      continue
    }
    if (e.probe.kind !== 'dir') {
      skipped.push({ path: e.full, reason: 'not-an-image', detail: 'file at the dataset root is outside any class folder', split })
      continue
    }
    const acc: IndexedFile[] = []
    yield* walk(e.full, e.real, e.name, new Set([rootReal, e.real]), acc)
    if (acc.length === 0) {
      skipped.push({ path: e.full, reason: 'empty-class', detail: `class folder '${e.name}' holds no usable image`, split })
      if (opts.keepEmptyClasses) classes.push(e.name)
      continue
    }
    classes.push(e.name)
    for (const f of acc) files.push(f) // not push(...acc): a class of 150,000+ files overflows the call stack
  }
  return { root, entries, classes, files, skipped, hiddenIgnored }
}

/** Index `root` as an ImageFolder (synchronous). Throws only when `root` itself is not a readable directory. */
export function indexImageFolder(root: string, opts: IndexOptions = {}): FolderIndex {
  return runSync(indexWalk(root, opts))
}

/** indexImageFolder without blocking the event loop (fs.promises, yields every few ms): the main process's form. */
export function indexImageFolderAsync(root: string, opts: IndexOptions = {}): Promise<FolderIndex> {
  return runAsync(indexWalk(root, opts))
}
