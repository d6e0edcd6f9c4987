/**
 * `daft datasets` and `daft models`: the catalog the app lists (Datasets, Models, New experiment), through the same
 * API operations (`datasets.list` / `datasets.register`, `models.list` / `models.register`: deduplicated
 * registration, services/catalog.ts). Both work in the project `daft run` uses (`projects.ensure`: the built-in one
 * the app opens on, or --project NAME). Only a model import starts the engine process (to read the checkpoint).
 */
import type { Command } from './command'
import { fractionOption, helpText, out, parse, skippedLines, UsageError } from './args'
import { DATA_DIR_OPT, withApp } from './storeCommands'
import type { DatasetDetail, DatasetSummary, ModelSummary } from '../../shared/types'
import type { RegisterStatus } from '../../shared/catalog'
import type { App } from '../app'
import { defaultDataDir } from '../dataDir'

const PROJECT_OPT: [string, string] = ['--project NAME', 'the project (default: the built-in project the app opens on, where `daft run` registers too; created when missing)']

/** Opens the app and the command's project (`projects.ensure`); closes the app afterwards. */
async function withProject<T>(values: Record<string, unknown>, fn: (app: App, project: { id: number; name: string }) => Promise<T>): Promise<T> {
  return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => fn(app, await app.services['projects.ensure']({ name: values.project as string | undefined })))
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
      return withProject(values, async (app, project) => {
        const list = await app.services['datasets.list']({ projectId: project.id })
        out(json, { project, datasets: list }, () => [`project '${project.name}' (#${project.id}): ${plural(list.length, 'dataset')}`, ...list.map(datasetLine)].join('\n'))
        return 0
      })
    }
    if (rest.length !== 1) throw new UsageError(rest.length ? `one folder at a time (got ${rest.length})` : 'the dataset folder is required', DATASETS_IMPORT)
    const valFraction = fractionOption(values, 'val-fraction')
    return withProject(values, async (app, project) => {
      const r = await app.services['datasets.register']({ projectId: project.id, root: rest[0], name: values.name as string | undefined, valFraction })
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
      return withProject(values, async (app, project) => {
        const list = await app.services['models.list']({ projectId: project.id })
        out(json, { project, models: list }, () => [`project '${project.name}' (#${project.id}): ${plural(list.length, 'model')}`, ...list.map(modelLine)].join('\n'))
        return 0
      })
    }
    if (rest.length !== 1) throw new UsageError(rest.length ? `one checkpoint at a time (got ${rest.length})` : 'the checkpoint path is required', MODELS_IMPORT)
    return withProject(values, async (app, project) => {
      // the checkpoint is read by the engine process (`model.inspect`), started for it
      const r = await app.services['models.register']({ projectId: project.id, path: rest[0], name: values.name as string | undefined, arch: values.arch as string | undefined })
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
