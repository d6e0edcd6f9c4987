/**
 * `daft datasets` and `daft models`: the catalog the app lists (Datasets, Models, New experiment), through the same
 * services (services/catalog.ts: importDatasetService and the model import behind deduplicated registration).
 * Both work in the project `daft run` uses (the built-in one the app opens on, or --project NAME).
 */
import type { Command } from './command'
import { fractionOption, helpText, out, parse, skippedLines, UsageError } from './args'
import { DATA_DIR_OPT } from './storeCommands'
import type { DatasetDetail, DatasetSummary, ModelSummary } from '../../shared/types'
import type { Db } from '../store/db'
import { openStore } from '../store/db'
import { listDatasets, listModels, projectName } from '../store/catalog'
import { defaultDataDir } from '../services/dataDir'
import { cliProject, registerDataset, registerModel, type RegisterStatus } from '../services/catalog'
import type { InspectModel } from '../services/models'

const PROJECT_OPT: [string, string] = ['--project NAME', 'the project (default: the built-in project the app opens on, where `daft run` registers too; created when missing)']

/** Opens the store and the command's project; closes the store afterwards. */
async function withProject<T>(values: Record<string, unknown>, fn: (db: Db, project: { id: number; name: string }) => Promise<T>): Promise<T> {
  const db = openStore(defaultDataDir(values['data-dir'] as string | undefined))
  try {
    const id = cliProject(db, values.project as string | undefined)
    return await fn(db, { id, name: projectName(db, id) ?? `#${id}` })
  } finally {
    db.close()
  }
}

/** The sub-command (`list` when none) and its positionals. */
function subcommand(positionals: string[], usage: string): { sub: 'list' | 'import'; rest: string[] } {
  const [sub = 'list', ...rest] = positionals
  if (sub !== 'list' && sub !== 'import') throw new UsageError(`unknown sub-command '${sub}' (list or import)`, usage)
  return { sub, rest }
}

function onlyForImport(values: Record<string, unknown>, names: string[], usage: string): void {
  const given = names.filter((n) => values[n] !== undefined)
  if (given.length) throw new UsageError(`${given.map((n) => `--${n}`).join(', ')}: only for import`, usage)
}

const plural = (n: number, noun: string): string => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : noun.endsWith('s') ? 'es' : 's'}`

function statusText(status: RegisterStatus, what: 'folder' | 'file'): string {
  if (status === 'added') return 'added'
  if (status === 'updated') return `imported again (the ${what} changed since it was registered, or was registered without a fingerprint)`
  return 'already in the catalog with the same content: nothing imported'
}

// ---------------------------------------------------------------- datasets

const DATASETS_LIST = 'datasets [list] [--project NAME] [--data-dir DIR] [--json]'
const DATASETS_IMPORT = 'datasets import DIR [--name N] [--val-fraction F] [--project NAME] [--data-dir DIR] [--json]'

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([s, n]) => `${s} ${n.toLocaleString('en-US')}`)
  return parts.length ? parts.join(', ') : 'no images'
}

/** A dataset's import report as text: classes, images per split (and class), sizes, every skipped entry, notes. */
export function importReportLines(d: DatasetDetail): string[] {
  const r = d.report
  const lines = [`root ${d.root} (${r.layout === 'splits' ? 'train/val/test folders' : 'one folder per class'})`, `${plural(r.classes.length, 'class')}: ${r.classes.join(', ')}`]
  lines.push(`images: ${countsText(d.counts)}${r.valFrom ? ` (val: ${Math.round(r.valFrom.fraction * 100)} % of train held out, seed ${r.valFrom.seed})` : ''}`)
  if (r.classes.length <= 20) {
    for (const [split, c] of Object.entries(r.splits)) lines.push(`  ${split.padEnd(6)} ${r.classes.map((k) => `${k}: ${c.perClass[k] ?? 0}`).join(', ')}`)
  }
  if (r.sizes) {
    const s = r.sizes
    lines.push(`sizes: ${s.minWidth}-${s.maxWidth} x ${s.minHeight}-${s.maxHeight} px, most common ${s.common.slice(0, 3).map((c) => `${c.width}x${c.height} (${c.count})`).join(', ')}; formats ${Object.entries(s.formats).map(([f, n]) => `${f} ${n}`).join(', ')}`)
  }
  lines.push(...skippedLines(r.skipped))
  if (r.hiddenIgnored) lines.push(`hidden files ignored: ${r.hiddenIgnored}`)
  if (r.alignment) lines.push(`class alignment: dropped ${r.alignment.dropped.join(', ') || 'none'}; missing ${r.alignment.missing.join(', ') || 'none'}`)
  lines.push(...r.notes.map((n) => `note: ${n}`))
  return lines
}

function datasetLine(d: DatasetSummary): string {
  return `  #${String(d.id).padEnd(4)} ${d.name.padEnd(20)} ${plural(d.classes.length, 'class').padEnd(11)} ${countsText(d.counts).padEnd(34)} ${String(d.skipped).padStart(4)} skipped  ${d.root}`
}

export const datasetsCommand: Command = {
  summary: "list the catalog's datasets, or import a folder (prints its import report, every skipped entry with its reason)",
  usage: 'datasets [import DIR [--name N] [--val-fraction F]]',
  help: helpText(
    [DATASETS_LIST, DATASETS_IMPORT],
    'Lists the datasets the app shows in Datasets and New experiment, or imports an image folder (one sub-folder per class, or train/ [val/] test/ sub-folders) the way the app does and prints its import report: classes, images per split and class, sizes, and every entry left out with its reason (corrupt or zero-byte file, not an image, unreadable, too large, symbolic link loop, link leaving the folder, empty class folder). A folder whose content the project already holds (the same files, by relative path and size) is not imported twice: the existing entry and its report are shown.',
    [['--name N', 'import: the name in the catalog (default: the folder name, made unique)'], ['--val-fraction F', 'import: fraction of train held out as ID val when there is no val/ folder (default 0.1; 0 = none)'], PROJECT_OPT, DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, project: { type: 'string' }, name: { type: 'string' }, 'val-fraction': { type: 'string' } }, `${DATASETS_LIST} | ${DATASETS_IMPORT}`)
    const { sub, rest } = subcommand(positionals, `${DATASETS_LIST} | ${DATASETS_IMPORT}`)
    const json = !!values.json
    if (sub === 'list') {
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, DATASETS_LIST)
      onlyForImport(values, ['name', 'val-fraction'], DATASETS_LIST)
      return withProject(values, async (db, project) => {
        const list = listDatasets(db, project.id)
        out(json, { project, datasets: list }, () => [`project '${project.name}' (#${project.id}): ${plural(list.length, 'dataset')}`, ...list.map(datasetLine)].join('\n'))
        return 0
      })
    }
    if (rest.length !== 1) throw new UsageError(rest.length ? `one folder at a time (got ${rest.length})` : 'the dataset folder is required', DATASETS_IMPORT)
    const valFraction = fractionOption(values, 'val-fraction')
    return withProject(values, async (db, project) => {
      const r = await registerDataset(db, { projectId: project.id, root: rest[0], name: values.name as string | undefined, valFraction })
      const d = r.dataset
      out(json, { status: r.status, project, fingerprint: r.fingerprint, dataset: d }, () =>
        [`dataset '${d.name}' (#${d.id}) in project '${project.name}': ${statusText(r.status, 'folder')}`, ...importReportLines(d), `fingerprint ${r.fingerprint}`].join('\n'),
      )
      return 0
    })
  },
}

// ---------------------------------------------------------------- models

const MODELS_LIST = 'models [list] [--project NAME] [--data-dir DIR] [--json]'
const MODELS_IMPORT = 'models import PATH [--name N] [--arch A] [--project NAME] [--data-dir DIR] [--json]'

/** `model.inspect` in this process (as `daft inspect`), the tensor backend started on first use only. */
function inProcessInspect(): InspectModel {
  let inspect: InspectModel | undefined
  return async (path, arch) => {
    if (!inspect) {
      const { initBackend } = await import('../engine/backend')
      await initBackend()
      inspect = (await import('../engine/tasks/models')).inspectModel
    }
    return inspect(path, arch)
  }
}

function modelLine(m: ModelSummary): string {
  return `  #${String(m.id).padEnd(4)} ${m.name.padEnd(24)} ${m.arch.padEnd(12)} ${plural(m.numClasses, 'class').padEnd(11)} ${`${m.parameters.toLocaleString('en-US')} parameters`.padEnd(24)} ${String(m.bnLayers.length).padStart(3)} BN  ${m.path}`
}

export const modelsCommand: Command = {
  summary: "list the catalog's models, or import a checkpoint (architecture, BN layers, key report)",
  usage: 'models [import PATH [--name N] [--arch A]]',
  help: helpText(
    [MODELS_LIST, MODELS_IMPORT],
    "Lists the models the app shows in Models and New experiment, or imports a checkpoint the way the app does (PyTorch .pt/.pth/.th/.tar read by the safe unpickler, safetensors, a TF.js model.json or its folder) and prints what was read. A checkpoint whose bytes the project already holds (sha256; for TF.js, model.json and its shards) is not imported twice.",
    [['--name N', 'import: the name in the catalog (default: the file name, or the folder of a model.json, made unique)'], ['--arch A', 'import: architecture (default: detected from the keys)'], PROJECT_OPT, DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, project: { type: 'string' }, name: { type: 'string' }, arch: { type: 'string' } }, `${MODELS_LIST} | ${MODELS_IMPORT}`)
    const { sub, rest } = subcommand(positionals, `${MODELS_LIST} | ${MODELS_IMPORT}`)
    const json = !!values.json
    if (sub === 'list') {
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, MODELS_LIST)
      onlyForImport(values, ['name', 'arch'], MODELS_LIST)
      return withProject(values, async (db, project) => {
        const list = listModels(db, project.id)
        out(json, { project, models: list }, () => [`project '${project.name}' (#${project.id}): ${plural(list.length, 'model')}`, ...list.map(modelLine)].join('\n'))
        return 0
      })
    }
    if (rest.length !== 1) throw new UsageError(rest.length ? `one checkpoint at a time (got ${rest.length})` : 'the checkpoint path is required', MODELS_IMPORT)
    return withProject(values, async (db, project) => {
      const r = await registerModel(db, inProcessInspect(), { projectId: project.id, path: rest[0], name: values.name as string | undefined, arch: values.arch as string | undefined })
      const m = r.model
      out(json, { status: r.status, project, fingerprint: r.fingerprint, model: m }, () =>
        [
          `model '${m.name}' (#${m.id}) in project '${project.name}': ${statusText(r.status, 'file')}`,
          `path ${m.path} (${m.format})`,
          `architecture ${m.arch}, ${plural(m.numClasses, 'class')}, ${m.parameters.toLocaleString('en-US')} parameters, ${m.bnLayers.length} BN layers, input ${m.preprocessing.inputSize.join('x')}, normalisation ${m.preprocessing.normalize}`,
          `missing keys: ${m.keyReport.missing.length ? m.keyReport.missing.join(', ') : 'none'}`,
          `unexpected keys: ${m.keyReport.unexpected.length ? m.keyReport.unexpected.join(', ') : 'none'}`,
          ...m.keyReport.notes.map((n) => `note: ${n}`),
          `fingerprint ${r.fingerprint}`,
        ].join('\n'),
      )
      return 0
    })
  },
}
