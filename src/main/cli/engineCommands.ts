/**
 * `daft evaluate`, `daft convert-bn`, `daft inspect`, `daft shift`: one-shot engine work in the CLI
 * process itself (no app, no store).
 */
import type { Command } from './command'
import { intOption, out, parse, pct, progressBar, required } from './args'
import type { NormalizePreset } from '../../shared/datasets'

const NORMALIZE = ['imagenet', 'minus1to1', 'clip', 'unit']

function normalizeOption(v: unknown): NormalizePreset | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !NORMALIZE.includes(v)) throw new Error(`--normalize must be one of ${NORMALIZE.join(', ')} (got ${String(v)})`)
  return v as NormalizePreset
}

async function engine() {
  const { initBackend } = await import('../engine/backend')
  const backend = await initBackend()
  return { backend, ...(await import('../engine/tasks/folderOps')) }
}

const EVAL_USAGE = 'evaluate --model PATH [--arch NAME] --data DIR [--classes a,b,...] [--size N] [--normalize imagenet|minus1to1|clip] [--batch-size 64]'
export const evaluateCommand: Command = {
  summary: 'accuracy of a checkpoint on an image folder',
  usage: 'evaluate --model PATH --data DIR [...]',
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
        ...r.perClass.map((c) => `  ${c.className.padEnd(12)} ${pct(c.accuracy)}  (${c.images})`),
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
  async run(args) {
    const { values } = parse(args, { model: { type: 'string' }, arch: { type: 'string' }, data: { type: 'string' }, size: { type: 'string' }, normalize: { type: 'string' }, limit: { type: 'string' } }, SHIFT_USAGE)
    const e = await engine()
    const r = await e.measureDomainShift({
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
      ].join('\n'),
    )
    return 0
  },
}
