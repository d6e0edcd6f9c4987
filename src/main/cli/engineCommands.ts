/**
 * `daft evaluate`, `daft convert-bn`, `daft inspect`, `daft shift`: one-shot engine work in the CLI
 * process itself (no app, no store).
 */
import { basename } from 'node:path'
import type { Command } from './command'
import { helpText, intOption, out, parse, pct, progressBar, required, skippedLines } from './args'
import { NORMALIZE_PRESET_NAMES as NORMALIZE, type NormalizePresetName } from '../../shared/datasets'

function normalizeOption(v: unknown): NormalizePresetName | undefined {
  if (v === undefined) return undefined
  const preset = NORMALIZE.find((p) => p === v)
  if (!preset) throw new Error(`--normalize must be one of ${NORMALIZE.join(', ')} (got ${String(v)})`)
  return preset
}

const MODEL_OPTS: [string, string][] = [
  ['--model PATH', 'checkpoint: .pt/.pth (torch zip), .th/.tar (legacy pickle), .safetensors, or a TF.js model.json (or its folder)'],
  ['--arch NAME', 'architecture (default: detected from the checkpoint\'s keys): resnet8/20/32/44/56, resnet18/34/50, mobilenetv2'],
]
const DATA_OPTS: [string, string][] = [
  ['--data DIR', 'image folder: one sub-folder per class, or train/ [val/] test/ sub-folders (test is used, else val, else train)'],
  ['--size N', 'working resolution (default: the model\'s input size)'],
  ['--normalize P', `input normalisation: ${NORMALIZE.join(', ')} (default: what the model expects)`],
]

/** Whether the walk found the class folder `name` empty. */
function emptyFolder(skipped: { path: string; reason: string }[], name: string): boolean {
  return skipped.some((s) => s.reason === 'empty-class' && basename(s.path) === name)
}

async function engine() {
  const { initBackend } = await import('../engine/backend')
  const backend = await initBackend()
  return { backend, ...(await import('../engine/tasks/folderOps')) }
}

const EVAL_USAGE = `evaluate --model PATH [--arch NAME] --data DIR [--classes a,b,...] [--size N] [--normalize ${NORMALIZE.join('|')}] [--batch-size 64]`
export const evaluateCommand: Command = {
  summary: 'accuracy of a checkpoint on an image folder',
  usage: 'evaluate --model PATH --data DIR [...]',
  help: helpText(
    EVAL_USAGE,
    'Accuracy of a checkpoint on an image folder, overall and per class, with every entry the folder walk left out (zero-byte files, symbolic link loops, empty class folders, ...) and every image that failed to decode.',
    [...MODEL_OPTS, ...DATA_OPTS, ['--classes a,b,...', "the head's class order (default: the sorted class folder names, empty ones included)"], ['--batch-size N', 'images per batch (default 64)']],
  ),
  async run(args) {
    const { values } = parse(args, { model: { type: 'string' }, arch: { type: 'string' }, data: { type: 'string' }, classes: { type: 'string' }, size: { type: 'string' }, normalize: { type: 'string' }, 'batch-size': { type: 'string' } }, EVAL_USAGE)
    const json = !!values.json
    const e = await engine()
    const r = await e.evaluateFolder({
      modelPath: required(values, 'model', EVAL_USAGE),
      arch: values.arch as string | undefined,
      dataRoot: required(values, 'data', EVAL_USAGE),
      classes: typeof values.classes === 'string' ? values.classes.split(',').map((s) => s.trim()) : undefined,
      size: intOption(values, 'size'),
      normalize: normalizeOption(values.normalize),
      batchSize: intOption(values, 'batch-size', 64)!,
      onProgress: progressBar(!json),
    })
    out(json, { ...r, backend: e.backend.name }, () =>
      [
        `accuracy ${pct(r.accuracy)} on ${r.images} images (${r.arch}, backend ${e.backend.name})`,
        ...r.perClass.map((c) => `  ${c.className.padEnd(12)} ${pct(c.accuracy)}  (${c.images}${c.images === 0 && emptyFolder(r.skipped, c.className) ? ': empty class folder' : ''})`),
        ...skippedLines(r.skipped),
        ...(r.failed.length ? [`failed to decode ${r.failed.length}:`, ...r.failed.map((f) => `  ${f.path}: ${f.reason}`)] : []),
        ...r.notes.map((n) => `note: ${n}`),
      ].join('\n'),
    )
    return 0
  },
}

const CONVERT_USAGE = 'convert-bn --model PATH [--arch NAME] --data DIR --out FILE.safetensors [--batch-size 64] [--size N] [--normalize ...] [--limit N]'
export const convertBnCommand: Command = {
  summary: 'BN conversion (DAFT Algorithm 1) on a folder; writes safetensors',
  usage: 'convert-bn --model PATH --data DIR --out FILE.safetensors [...]',
  help: helpText(
    CONVERT_USAGE,
    "BN conversion (DAFT's Algorithm 1): the BN layers' running statistics measured on the folder's images, written as a safetensors file with PyTorch key names; prints the shift per layer and checks that eval outputs are unchanged.",
    [...MODEL_OPTS, ...DATA_OPTS, ['--out FILE', 'the converted model (.safetensors)'], ['--batch-size N', 'images per batch (default 64)'], ['--limit N', 'at most N images (stratified by class)']],
  ),
  async run(args) {
    const { values } = parse(args, { model: { type: 'string' }, arch: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, size: { type: 'string' }, normalize: { type: 'string' }, 'batch-size': { type: 'string' }, limit: { type: 'string' } }, CONVERT_USAGE)
    const json = !!values.json
    const e = await engine()
    const r = await e.convertFolder({
      modelPath: required(values, 'model', CONVERT_USAGE),
      arch: values.arch as string | undefined,
      dataRoot: required(values, 'data', CONVERT_USAGE),
      outPath: required(values, 'out', CONVERT_USAGE),
      size: intOption(values, 'size'),
      normalize: normalizeOption(values.normalize),
      batchSize: intOption(values, 'batch-size', 64)!,
      limit: intOption(values, 'limit'),
      onProgress: progressBar(!json),
    })
    out(json, { ...r, backend: e.backend.name }, () =>
      [
        `converted ${r.layers.length} BN layers on ${r.images} images (${r.batches} batches) -> ${r.out}`,
        `max eval-output change: ${r.maxRelativeOutputChange.toExponential(2)} (relative)`,
        'layer                      stage      mean shift  var shift',
        ...r.layers.map((l) => `${l.name.padEnd(26)} ${l.stage.padEnd(10)} ${l.meanShift.toFixed(4).padStart(10)} ${l.varShift.toFixed(4).padStart(10)}`),
      ].join('\n'),
    )
    return 0
  },
}

const INSPECT_USAGE = 'inspect --model PATH [--arch NAME]'
export const inspectCommand: Command = {
  summary: 'architecture, parameter count, BN layers, key-mapping report',
  usage: INSPECT_USAGE,
  help: helpText(INSPECT_USAGE, "A checkpoint's architecture, parameter count, input size and normalisation, BN layers (channels, momentum, eps) and how its keys mapped (missing, unexpected).", MODEL_OPTS),
  async run(args) {
    const { values } = parse(args, { model: { type: 'string' }, arch: { type: 'string' } }, INSPECT_USAGE)
    const e = await engine()
    const info = await e.inspectModel(required(values, 'model', INSPECT_USAGE), values.arch as string | undefined)
    out(!!values.json, info, () =>
      [
        `${info.path}`,
        `format ${info.format}, architecture ${info.arch}, ${info.numClasses} classes, ${info.parameters.toLocaleString('en')} parameters`,
        `input ${info.preprocessing.inputSize.join('x')}, normalisation ${info.preprocessing.normalize}`,
        `${info.bnLayers.length} BN layers (channels, momentum in PyTorch's convention, eps):`,
        ...info.bnLayers.map((l) => `  ${l.name.padEnd(28)} ${l.stage.padEnd(10)} ${String(l.channels).padStart(5)}  ${l.momentum === undefined ? "" : Number(l.momentum.toPrecision(6))}  ${l.eps ?? ""}`),
        ...(info.bnMomentum ? [`BN momentum: ${info.bnMomentum.note}`] : []),
        `missing keys: ${info.keyReport.missing.length ? info.keyReport.missing.join(', ') : 'none'}`,
        `unexpected keys: ${info.keyReport.unexpected.length ? info.keyReport.unexpected.join(', ') : 'none'}`,
        ...info.keyReport.notes.map((n) => `note: ${n}`),
      ].join('\n'),
    )
    return 0
  },
}

const SHIFT_USAGE = 'shift --model PATH [--arch NAME] --data DIR [--size N] [--normalize ...] [--limit N]'
export const shiftCommand: Command = {
  summary: 'domain-shift meter: source vs target BN statistics, no training',
  usage: 'shift --model PATH --data DIR [...]',
  help: helpText(
    SHIFT_USAGE,
    "Domain-shift meter without training: the BN layers' source statistics (the checkpoint's) against the folder's, per layer and overall, with every entry the folder walk left out.",
    [...MODEL_OPTS, ...DATA_OPTS, ['--limit N', 'at most N images, stratified by class (default 1000)']],
  ),
  async run(args) {
    const { values } = parse(args, { model: { type: 'string' }, arch: { type: 'string' }, data: { type: 'string' }, size: { type: 'string' }, normalize: { type: 'string' }, limit: { type: 'string' } }, SHIFT_USAGE)
    const e = await engine()
    const r = await e.measureFolderShift({
      modelPath: required(values, 'model', SHIFT_USAGE),
      arch: values.arch as string | undefined,
      dataRoot: required(values, 'data', SHIFT_USAGE),
      size: intOption(values, 'size'),
      normalize: normalizeOption(values.normalize),
      limit: intOption(values, 'limit', 1000),
    })
    out(!!values.json, r, () =>
      [
        `${r.verdict}`,
        `overall score ${r.overall.score.toFixed(4)} (mean shift ${r.overall.meanShift.toFixed(4)}, variance shift ${r.overall.varShift.toFixed(4)}) on ${r.images} images`,
        ...r.layers.map((l) => `  ${l.name.padEnd(28)} ${l.stage.padEnd(10)} ${l.meanShift.toFixed(4).padStart(8)} ${l.varShift.toFixed(4).padStart(8)}`),
        ...skippedLines(r.skipped),
        ...r.notes.map((n) => `note: ${n}`),
      ].join('\n'),
    )
    return 0
  },
}
