/**
 * One catalog for both front doors. `daft run` registers the datasets and the model its experiment file names,
 * `daft datasets import` / `daft models import` register what they are given, and the app lists them (Datasets,
 * Models, New experiment) and serves their images (galleries, previews, lightbox).
 *
 * Entries are told apart by real path and content fingerprint, never by name:
 * - a dataset's fingerprint is sha256 over its layout, its class folders, its file count and a hash of every
 *   entry the import would consider (split, relative path, size; skipped entries with their reason), in the
 *   walk's sorted order: a stat() walk, no image is decoded;
 * - a model's is sha256 of the checkpoint file (or of model.json and its shards, services/models.ts).
 * Registering content the project already holds reuses that entry (a copy at another real path is recorded as a
 * further root of it, so its images are served too); the same folder or file with new content refreshes its entry;
 * anything else is added, under a name no other entry of the project has.
 */
import { createHash } from 'node:crypto'
import { realpath, stat } from 'node:fs/promises'
import { basename, relative } from 'node:path'
import { ApiError } from '../../shared/api'
import type { ExperimentSpec } from '../../shared/experiments'
import type { DatasetDetail } from '../../shared/types'
import type { DatasetRegistration, ExperimentCatalog, ExperimentCatalogEntry, ModelRegistration, RegisterStatus } from '../../shared/catalog'
import type { Db } from '../store/db'
import { addDatasetRoot, datasetKeys, ensureProject, getDataset, getModel, modelKeys, projectName, saveModel, setDatasetFingerprint, type DatasetKey } from '../store/catalog'
import { ensureDemoProject } from './projects'
import { importDatasetService } from './datasets'
import { defaultModelName, modelFingerprint, type InspectModel } from './models'
import { detectLayoutAsync, type SplitName } from '../engine/data/import'
import { indexImageFolderAsync } from '../engine/data/folder'
import { TooManyEntriesError, Yielder } from '../engine/data/walk'

export type { DatasetRegistration, ExperimentCatalog, ExperimentCatalogEntry, ModelRegistration, RegisterStatus }

export const CLI_PROJECT_DESCRIPTION = 'Datasets, models and experiments added with the daft command line (--project).'

/**
 * The project the command line works in: the built-in project the app opens on (so what `daft` adds is in front
 * of the user without a click), or the project named by --project (created when missing).
 */
export function cliProject(db: Db, name?: string): number {
  const n = name?.trim()
  return n ? ensureProject(db, n, CLI_PROJECT_DESCRIPTION) : ensureDemoProject(db)
}

/** `projects.ensure`: cliProject's project with its name. */
export function openProject(db: Db, name?: string): { id: number; name: string } {
  if (name !== undefined && typeof name !== 'string') throw new ApiError('bad_request', 'name: expected a project name')
  const id = cliProject(db, name)
  return { id, name: projectName(db, id) ?? `#${id}` }
}

function walkFailure(e: unknown): never {
  if (e instanceof ApiError) throw e
  if (e instanceof TooManyEntriesError) throw new ApiError('too_many_entries', e.message)
  throw e
}

/** The dataset fingerprint of a real folder path (see the file comment). */
export async function datasetFingerprint(root: string, limits: { maxEntries?: number } = {}): Promise<{ fingerprint: string; classes: string[]; files: number; skipped: number }> {
  const layout = await detectLayoutAsync(root, limits.maxEntries).catch(walkFailure)
  const dirs: Partial<Record<SplitName, string>> = layout.layout === 'splits' ? layout.dirs : { train: root }
  const listing = createHash('sha256')
  const clock = new Yielder()
  const classes = new Set<string>()
  let files = 0
  let skipped = 0
  let entries = 0
  for (const split of ['train', 'val', 'test'] as SplitName[]) {
    const dir = dirs[split]
    if (!dir) continue
    const max = limits.maxEntries === undefined ? undefined : limits.maxEntries - entries
    const idx = await indexImageFolderAsync(dir, { split, within: root, maxEntries: max }).catch(walkFailure)
    entries += idx.entries
    for (const c of idx.classes) classes.add(`${split}/${c}`)
    // files come grouped by class, sorted by path: the order is the same on every walk of the same tree
    for (let i = 0; i < idx.files.length; i++) {
      const f = idx.files[i]
      listing.update(`f\0${split}\0${relative(root, f.path)}\0${f.size}\n`)
      if ((i & 4095) === 4095) await clock.maybe()
    }
    for (const s of idx.skipped) listing.update(`s\0${split}\0${relative(root, s.path)}\0${s.reason}\n`)
    files += idx.files.length
    skipped += idx.skipped.length
  }
  const classList = [...classes].sort()
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ v: 1, layout: layout.layout, classes: classList, files, listing: listing.digest('hex') }))
    .digest('hex')
  return { fingerprint, classes: [...new Set(classList.map((c) => c.slice(c.indexOf('/') + 1)))].sort(), files, skipped }
}

/** The val fraction an imported dataset was split with (null: it has a val folder, the fraction does not apply). */
function storedValFraction(d: DatasetDetail): number | null {
  if (d.report.valFrom) return d.report.valFrom.fraction
  return d.report.splits.val ? null : 0
}

/** `base`, else `base-2`, `base-3`, ...: a name no entry in `taken` has. */
function freeName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`
}

async function realFolder(root: unknown): Promise<string> {
  if (typeof root !== 'string' || !root.trim()) throw new ApiError('bad_request', 'root: the dataset folder is required')
  let real: string
  try {
    real = await realpath(root)
  } catch {
    throw new ApiError('not_found', `${root}: no such folder`)
  }
  if (!(await stat(real)).isDirectory()) throw new ApiError('not_a_folder', `${real}: not a folder`)
  return real
}

/**
 * Registers a dataset folder in a project, deduplicated (see the file comment). `valFraction` given: an entry split
 * with another fraction is not reused (the folder is imported again with this one). `name` given: the name of a new
 * entry (an entry of the same content keeps its own; another entry's name is refused).
 */
export async function registerDataset(
  db: Db,
  req: { projectId: number; root: string; name?: string; valFraction?: number },
  opts: { defaultValFraction?: number; maxEntries?: number } = {},
): Promise<DatasetRegistration> {
  if (req.name !== undefined && (typeof req.name !== 'string' || !req.name.trim())) throw new ApiError('bad_request', 'name: expected a non-empty name')
  if (req.valFraction !== undefined && (typeof req.valFraction !== 'number' || !(req.valFraction >= 0 && req.valFraction < 1))) {
    throw new ApiError('bad_request', `valFraction: a number from 0 (no val split) up to, not including, 1 (got ${String(req.valFraction)})`)
  }
  const real = await realFolder(req.root)
  const { fingerprint } = await datasetFingerprint(real, { maxEntries: opts.maxEntries })
  const keys = datasetKeys(db, req.projectId)
  const at = (k: DatasetKey): boolean => k.root === real || k.roots.includes(real)
  const fits = (k: DatasetKey): boolean => {
    if (req.valFraction === undefined) return true
    const stored = storedValFraction(getDataset(db, k.id)!)
    return stored === null || stored === req.valFraction
  }
  const same = keys.filter((k) => k.fingerprint === fingerprint && fits(k)).sort((a, b) => Number(at(b)) - Number(at(a)))[0]
  if (same) {
    if (!at(same)) addDatasetRoot(db, same.id, real)
    return { status: 'reused', dataset: getDataset(db, same.id)!, fingerprint }
  }
  // the same folder registered with other content, another split, or no fingerprint (older stores): refreshed
  const here = keys.find((k) => k.root === real)
  let name: string
  if (here) name = here.name
  else if (req.name !== undefined) {
    name = req.name.trim()
    const other = keys.find((k) => k.name === name)
    if (other) throw new ApiError('exists', `a dataset named '${name}' is already registered (#${other.id}, ${other.root}); choose another name`)
  } else name = freeName(basename(real), new Set(keys.map((k) => k.name)))
  const valFraction = req.valFraction ?? (here ? storedValFraction(getDataset(db, here.id)!) : null) ?? opts.defaultValFraction ?? 0.1
  const dataset = await importDatasetService(db, { projectId: req.projectId, root: real, name, valFraction }, { maxEntries: opts.maxEntries })
  setDatasetFingerprint(db, dataset.id, fingerprint)
  return { status: here ? 'updated' : 'added', dataset, fingerprint }
}

/**
 * The app's `datasets.import`: importDatasetService as it is (same checks, same result, same project + name
 * replaced), then the entry's fingerprint, so the command line finds it again (an entry whose folder cannot be
 * fingerprinted keeps none).
 */
export async function importDatasetFingerprinted(db: Db, req: { projectId: number; root: string; name?: string; valFraction?: number }): Promise<DatasetDetail> {
  const dataset = await importDatasetService(db, req)
  const fp = await datasetFingerprint(dataset.root).catch(() => null)
  if (fp) setDatasetFingerprint(db, dataset.id, fp.fingerprint)
  return dataset
}

async function realOrNull(p: string): Promise<string | null> {
  return realpath(p).catch(() => null)
}

/**
 * Registers a checkpoint in a project, deduplicated by content fingerprint (and architecture, when one is asked
 * for: the same file read as another architecture is another model). `inspect` reads the checkpoint (the
 * engine's `model.inspect`, or the same task in the calling process).
 */
export async function registerModel(db: Db, inspect: InspectModel, req: { projectId: number; path: string; name?: string; arch?: string }): Promise<ModelRegistration> {
  if (typeof req.path !== 'string' || !req.path) throw new ApiError('bad_request', 'path: the checkpoint file is required')
  if (req.name !== undefined && (typeof req.name !== 'string' || !req.name.trim())) throw new ApiError('bad_request', 'name: expected a non-empty name')
  const real = await realOrNull(req.path)
  if (!real) throw new ApiError('not_found', `${req.path}: no such file`)
  let fingerprint: string
  try {
    fingerprint = await modelFingerprint(real)
  } catch (e) {
    throw new ApiError('bad_checkpoint', `${real}: cannot read (${(e as Error).message.split('\n')[0]})`)
  }
  const keys = modelKeys(db, req.projectId)
  const reals = await Promise.all(keys.map((k) => realOrNull(k.path)))
  const archOk = (arch: string): boolean => !req.arch || arch === req.arch
  const candidates = keys.map((k, i) => ({ ...k, real: reals[i] })).filter((k) => archOk(k.arch))
  const same = candidates.filter((k) => k.fingerprint === fingerprint).sort((a, b) => Number(b.real === real) - Number(a.real === real))[0]
  if (same) {
    let model = getModel(db, same.id)!
    // its file is gone but the same bytes are here: the entry points here now
    if (same.real === null) {
      const { id: _id, projectId: _p, name: _n, createdAt: _c, ...info } = model
      model = saveModel(db, req.projectId, same.name, { ...info, path: real }, fingerprint)
    }
    return { status: 'reused', model, fingerprint }
  }
  // the same file with other content (or registered without a fingerprint by an older version): refreshed
  const here = candidates.find((k) => k.real === real)
  let name: string
  if (here) name = here.name
  else if (req.name !== undefined) {
    name = req.name.trim()
    const other = keys.find((k) => k.name === name)
    if (other) throw new ApiError('exists', `a model named '${name}' is already registered (#${other.id}, ${other.path}); choose another name`)
  } else name = freeName(defaultModelName(real), new Set(keys.map((k) => k.name)))
  let info
  try {
    info = await inspect(real, req.arch)
  } catch (e) {
    throw new ApiError('bad_checkpoint', (e as Error).message)
  }
  return { status: here ? 'updated' : 'added', model: saveModel(db, req.projectId, name, info, fingerprint), fingerprint }
}

/**
 * Registers what an experiment names: its ID root, every OOD root, its model. A dataset or model that cannot be
 * registered is reported in the result, not thrown: the experiment itself still runs (and fails on its own if
 * the data cannot be read).
 */
export async function registerExperimentCatalog(db: Db, inspect: InspectModel, projectId: number, spec: ExperimentSpec): Promise<ExperimentCatalog> {
  const sets: { set: string; root: string; valFraction?: number }[] = [
    { set: 'id', root: spec.data.id.root, valFraction: spec.data.valFraction },
    ...Object.entries(spec.data.ood ?? {}).map(([set, ref]) => ({ set, root: ref.root })),
  ]
  const datasets: ExperimentCatalogEntry[] = []
  for (const s of sets) {
    try {
      const r = await registerDataset(db, { projectId, root: s.root }, { defaultValFraction: s.valFraction })
      datasets.push({ set: s.set, root: s.root, status: r.status, dataset: r.dataset })
    } catch (e) {
      datasets.push({ set: s.set, root: s.root, error: (e as Error).message })
    }
  }
  let model: ExperimentCatalog['model']
  try {
    const r = await registerModel(db, inspect, { projectId, path: spec.model.path, arch: spec.model.arch })
    model = { path: spec.model.path, status: r.status, model: r.model }
  } catch (e) {
    model = { path: spec.model.path, error: (e as Error).message }
  }
  return { datasets, model }
}
