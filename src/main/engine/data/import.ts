/**
 * Dataset import: layout detection (ImageFolder or train/val/test sub-folders), class alignment,
 * optional header / full-decode verification, seeded stratified val split, and the import report.
 * No bad file throws: each is reported with its reason.
 *
 * The folder walks run off the event loop (walk.ts runAsync) and are confined to the dataset root: a link
 * whose target leaves the root is skipped and reported ("link leaves the dataset folder: <target>").
 */
import path from 'node:path'
import type { DatasetLayout, ImageSizeSummary, ImportReport, SkippedFile, SplitCounts, VerifyMode } from '../../../shared/datasets'
import { DEFAULT_PIXEL_LIMIT, decodeImage, probeImage, type ImageHeader } from './decode'
import { byName, indexImageFolderAsync, type IndexedFile } from './folder'
import { ask, DEFAULT_MAX_ENTRIES, runAsync, runSync, sortYielding, TooManyEntriesError, Yielder, type ListResult, type ProbeResult, type Walk } from './walk'
import { skipReason } from './batchIo'
import { alignClasses, stratifiedSplit } from './split'

export interface Sample {
  path: string
  /** index into the import's `classes` */
  label: number
  /** the folder the file came from (may differ from classes[label] under a mapping) */
  className: string
}

export type SplitName = 'train' | 'val' | 'test'

export interface ImportOptions {
  /** 'id' (default): a flat ImageFolder is the train split. 'ood': a flat ImageFolder is the test split. */
  role?: 'id' | 'ood'
  /** label by these classes (OOD sets, ID test folders); default: sorted folder names of train (else test) */
  classes?: string[]
  /** folder -> class renames (null = drop), see alignClasses */
  mapping?: Record<string, string | null>
  /** val fraction split off train when the folder has no val (default 0.1; 0 = none; role 'id' only) */
  valFraction?: number
  seed?: number
  /** default 'header' */
  verify?: VerifyMode
  pixelLimit?: number
  /** parallel sharp calls while verifying (default 16) */
  concurrency?: number
  /** directory entries the whole import may read (all splits together) before it stops (default 2,000,000) */
  maxEntries?: number
}

export interface DatasetImport {
  root: string
  layout: DatasetLayout
  classes: string[]
  splits: Partial<Record<SplitName, Sample[]>>
  report: ImportReport
}

const SPLIT_DIRS: Record<string, SplitName> = { train: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test' }

export interface LayoutInfo {
  layout: DatasetLayout
  dirs: Partial<Record<SplitName, string>>
  others: string[]
}

function* layoutWalk(root: string, maxEntries: number): Walk<LayoutInfo> {
  const listed = yield* ask<ListResult>({ op: 'list', dir: root, max: maxEntries })
  if ('error' in listed) throw new Error(`${root}: cannot read dataset folder (${listed.error.message})`)
  if (listed.names.length > maxEntries) throw new TooManyEntriesError(root, root, maxEntries)
  const names = yield* ask<string[]>({ op: 'sort', items: listed.names })
  const visible = names.filter((n) => !n.startsWith('.'))
  // only names that could be a split folder need a stat() (links followed: whether they may be read is the index's call)
  const candidates = visible.filter((n) => SPLIT_DIRS[n.toLowerCase()])
  const stats = yield* ask<ProbeResult[]>({ op: 'stat', paths: candidates.map((n) => path.join(root, n)) })
  const isDir = new Map(candidates.map((n, i) => [n, 'kind' in stats[i] && stats[i].kind === 'dir']))
  const dirs: Partial<Record<SplitName, string>> = {}
  const others: string[] = []
  for (const n of visible) {
    const split = SPLIT_DIRS[n.toLowerCase()]
    if (isDir.get(n) && split && !dirs[split]) dirs[split] = path.join(root, n)
    else others.push(n)
  }
  if (dirs.train || dirs.test) return { layout: 'splits', dirs, others }
  return { layout: 'imagefolder', dirs: {}, others: [] }
}

/** 'splits' when the root holds train / val / test sub-folders, else 'imagefolder'. */
export function detectLayout(root: string, maxEntries = DEFAULT_MAX_ENTRIES): LayoutInfo {
  return runSync(layoutWalk(root, maxEntries))
}

/** detectLayout without blocking the event loop. */
export function detectLayoutAsync(root: string, maxEntries = DEFAULT_MAX_ENTRIES): Promise<LayoutInfo> {
  return runAsync(layoutWalk(root, maxEntries))
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return out
}

export function summariseSizes(headers: ImageHeader[]): ImageSizeSummary | undefined {
  if (headers.length === 0) return undefined
  let minW = Infinity, maxW = 0, minH = Infinity, maxH = 0, sumW = 0, sumH = 0
  const sizes = new Map<string, number>()
  const formats: Record<string, number> = {}
  const channels: Record<string, number> = {}
  for (const h of headers) {
    minW = Math.min(minW, h.width)
    maxW = Math.max(maxW, h.width)
    minH = Math.min(minH, h.height)
    maxH = Math.max(maxH, h.height)
    sumW += h.width
    sumH += h.height
    const k = `${h.width}x${h.height}`
    sizes.set(k, (sizes.get(k) ?? 0) + 1)
    formats[h.format] = (formats[h.format] ?? 0) + 1
    channels[String(h.channels)] = (channels[String(h.channels)] ?? 0) + 1
  }
  const common = [...sizes.entries()]
    .sort((a, b) => b[1] - a[1] || byName(a[0], b[0]))
    .slice(0, 10)
    .map(([k, count]) => {
      const [width, height] = k.split('x').map(Number)
      return { width, height, count }
    })
  const n = headers.length
  return { count: n, minWidth: minW, maxWidth: maxW, minHeight: minH, maxHeight: maxH, meanWidth: sumW / n, meanHeight: sumH / n, common, formats, channels }
}

/**
 * The alignment's notes for one split, where an ID class whose folder is there but holds no usable image is
 * called empty (its folder is listed among the skipped entries), not absent.
 */
function alignmentNotes(al: ReturnType<typeof alignClasses>, split: SplitName, skipped: SkippedFile[], mapping: Record<string, string | null>): string[] {
  if (!al.missing.length) return al.notes
  const folders = skipped.filter((s) => s.reason === 'empty-class' && s.split === split).map((s) => path.basename(s.path))
  const classOf = (folder: string): string => (typeof mapping[folder] === 'string' ? (mapping[folder] as string) : folder).toLowerCase()
  const emptyClasses = new Set(folders.map(classOf))
  const empty = al.missing.filter((c) => emptyClasses.has(c.toLowerCase()))
  if (!empty.length) return al.notes
  const absent = al.missing.filter((c) => !emptyClasses.has(c.toLowerCase()))
  const absentNote = `ID classes absent from this set: ${al.missing.join(', ')}`
  return [
    ...al.notes.filter((n) => n !== absentNote),
    `empty class folders (no usable image; see the skipped entries): ${empty.join(', ')}`,
    ...(absent.length ? [`ID classes absent from this set: ${absent.join(', ')}`] : []),
  ]
}

/** Import one dataset root. Throws only when the root itself is unusable (missing, no classes). */
export async function importDataset(root: string, opts: ImportOptions = {}): Promise<DatasetImport> {
  const t0 = performance.now()
  const role = opts.role ?? 'id'
  const verify = opts.verify ?? 'header'
  const pixelLimit = opts.pixelLimit ?? DEFAULT_PIXEL_LIMIT
  const seed = opts.seed ?? 0
  const notes: string[] = []
  const skipped: SkippedFile[] = []
  let hiddenIgnored = 0

  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES
  const clock = new Yielder()

  const { layout, dirs, others } = await detectLayoutAsync(root, maxEntries)
  const splitDirs: Partial<Record<SplitName, string>> = layout === 'splits' ? dirs : { [role === 'ood' ? 'test' : 'train']: root }
  if (others.length > 0) notes.push(`ignored at the root (not train/val/test): ${others.join(', ')}`)

  const indexed: Partial<Record<SplitName, { classes: string[]; files: IndexedFile[] }>> = {}
  let entries = 0
  for (const split of ['train', 'val', 'test'] as SplitName[]) {
    const dir = splitDirs[split]
    if (!dir) continue
    // links may point anywhere inside the dataset root (train/ -> test/), never out of it
    let idx
    try {
      idx = await indexImageFolderAsync(dir, { split, within: root, maxEntries: maxEntries - entries })
    } catch (e) {
      // name the dataset, not the split folder, and the import's whole cap
      if (e instanceof TooManyEntriesError) throw new TooManyEntriesError(root, e.folder, maxEntries)
      throw e
    }
    entries += idx.entries
    for (const s of idx.skipped) skipped.push(s)
    hiddenIgnored += idx.hiddenIgnored
    indexed[split] = { classes: idx.classes, files: idx.files }
  }

  const base = indexed.train ?? indexed.test ?? indexed.val
  const classes = opts.classes ? [...opts.classes] : [...(base?.classes ?? [])]
  if (classes.length === 0) throw new Error(`${root}: no class folder with images found (expected <root>/<class>/<image> or <root>/train/<class>/<image>)`)

  // align every split to the class list
  let alignment: ImportReport['alignment']
  const candidates: { split: SplitName; file: IndexedFile; label: number }[] = []
  for (const split of ['train', 'val', 'test'] as SplitName[]) {
    const idx = indexed[split]
    if (!idx) continue
    const al = alignClasses(classes, idx.classes, opts.mapping ?? {})
    if (al.dropped.length || al.missing.length || Object.keys(al.renamed).length) {
      alignment = {
        dropped: [...new Set([...(alignment?.dropped ?? []), ...al.dropped])].sort(byName),
        missing: [...new Set([...(alignment?.missing ?? []), ...al.missing])].sort(byName),
        renamed: { ...(alignment?.renamed ?? {}), ...al.renamed },
      }
      notes.push(...alignmentNotes(al, split, skipped, opts.mapping ?? {}).map((n) => `${split}: ${n}`))
    }
    for (let i = 0; i < idx.files.length; i++) {
      const file = idx.files[i]
      const label = al.labelOf[file.className]
      if (label >= 0) candidates.push({ split, file, label })
      if ((i & 4095) === 4095) await clock.maybe()
    }
  }

  // verification
  const headers: ImageHeader[] = []
  // (verify 'none' skips the lanes: a million promises that resolve at once would hold the event loop)
  const okFlags = verify === 'none' ? candidates.map(() => true) : await mapLimit(candidates, opts.concurrency ?? 16, async (c) => {
    try {
      const h = await probeImage(c.file.path, pixelLimit)
      if (verify === 'decode') await decodeImage(c.file.path, { pixelLimit })
      headers.push(h)
      return true
    } catch (e) {
      const msg = (e as Error).message.replace(`${c.file.path}: `, '')
      skipped.push({ path: c.file.path, reason: skipReason(msg), detail: msg, split: c.split })
      return false
    }
  })

  const splits: Partial<Record<SplitName, Sample[]>> = {}
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]
    if (okFlags[i]) (splits[c.split] ??= []).push({ path: c.file.path, label: c.label, className: c.file.className })
    if ((i & 4095) === 4095) await clock.maybe()
  }

  let valFrom: ImportReport['valFrom']
  const valFraction = opts.valFraction ?? 0.1
  if (role === 'id' && !splits.val && splits.train && valFraction > 0) {
    const { train, val } = stratifiedSplit(splits.train, valFraction, seed)
    splits.train = train
    splits.val = val
    valFrom = { split: 'train', fraction: valFraction, seed }
    notes.push(`no val folder: ${val.length} train samples held out as val (stratified, fraction ${valFraction}, seed ${seed})`)
  }

  const counts: Record<string, SplitCounts> = {}
  for (const [split, samples] of Object.entries(splits)) {
    const perClass: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]))
    for (let i = 0; i < samples.length; i++) {
      perClass[classes[samples[i].label]]++
      if ((i & 4095) === 4095) await clock.maybe()
    }
    counts[split] = { total: samples.length, perClass }
    const missing = new Set(alignment?.missing ?? [])
    const empty = classes.filter((c) => perClass[c] === 0 && !missing.has(c))
    if (empty.length > 0) notes.push(`${split}: no usable samples for ${empty.join(', ')}`)
  }
  const sortedSkipped = await sortYielding(skipped, (a, b) => byName(a.path, b.path), clock)

  const report: ImportReport = {
    root,
    layout,
    classes,
    splits: counts,
    valFrom,
    sizes: summariseSizes(headers),
    skipped: sortedSkipped,
    hiddenIgnored,
    alignment,
    notes,
    verify,
    durationMs: Math.round(performance.now() - t0),
  }
  return { root, layout, classes, splits, report }
}
