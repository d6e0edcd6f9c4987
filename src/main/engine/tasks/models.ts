/** Engine tasks on checkpoints: inspect (summary + key report) and the domain-shift meter. */
import { basename } from 'node:path'
import type { ModelInfo, ShiftRequest } from '../protocol'

export type { ShiftRequest }
import type { BNMomentumInfo, DomainShiftReport } from '../../../shared/types'
import { DEFAULT_BN_MOMENTUM } from '../../../shared/recipes'
import type { NormalizePresetName } from '../../../shared/datasets'
import { loadCheckpoint } from '../io'
import { ARCHITECTURES, createModel, detectArchitecture, loadPretrained, type ArchName, type BNNet } from '../models'
import { targetStatistics } from '../methods/convertBatchNorm'
import { domainShift } from '../analysis/domainShift'
import { importDataset } from '../data/import'
import { createLoader } from '../data/loader'
import { stratifiedSubset } from './experimentData'

/** The normalisation preset a model's preprocessing asks for. */
export function normalizeOf(model: BNNet): NormalizePresetName {
  const p = model.preprocessing
  if (p.range[0] === -1) return 'minus1to1'
  if (p.mean && Math.abs(p.mean[0] - 0.485) < 1e-6) return 'imagenet'
  return 'unit'
}

/** The checkpoint's BN momentum as the user should read it, and what fine-tuning will use instead. */
export function bnMomentumInfo(model: BNNet, stored: boolean): BNMomentumInfo {
  const values = [...new Set(model.bnLayers().map((l) => l.bn.momentum))].sort((a, b) => a - b)
  const shown = values.map((m) => `${Number(m.toPrecision(6))}`).join(', ')
  const note = stored
    ? `the checkpoint's BN momentum is ${shown} in PyTorch's convention (${values.map((m) => Number((1 - m).toPrecision(6))).join(', ')} in Keras'); ` +
      `fine-tuning uses the recipe's bnMomentum (default ${DEFAULT_BN_MOMENTUM}, as the paper's PyTorch models) unless it is set to 'checkpoint'`
    : `PyTorch checkpoints do not store BN momentum: PyTorch's default ${shown} applies, as in the recipe's default`
  return { values, stored, note }
}

/** Loads a checkpoint leniently and reports what matched. The caller disposes the model. */
export async function loadWithReport(path: string, arch?: string): Promise<{ model: BNNet; info: ModelInfo }> {
  const ckpt = await loadCheckpoint(path)
  const found = (arch as ArchName | undefined) ?? (ckpt.format === 'tfjs-layers' ? 'mobilenetv2' : detectArchitecture(ckpt.stateDict))
  if (!found) {
    const sample = [...ckpt.stateDict.keys()].slice(0, 5).join(', ')
    throw new Error(`${path}: cannot tell the architecture from the keys (${sample}, ...); pass one of ${ARCHITECTURES.join(', ')}`)
  }
  let model: BNNet
  let report = { missing: [] as string[], unexpected: [] as string[] }
  if (found === 'mobilenetv2') {
    model = await loadPretrained(path, 'mobilenetv2')
  } else {
    const headKey = found.startsWith('resnet') && ckpt.stateDict.has('linear.weight') ? 'linear.weight' : 'fc.weight'
    const numClasses = ckpt.stateDict.get(headKey)?.shape[0] ?? 10
    model = createModel(found, numClasses)
    report = model.loadStateDict(ckpt.stateDict, { strict: false, source: path })
  }
  const parameters = model.namedParameters().reduce((s, [, v]) => s + v.size, 0)
  const info: ModelInfo = {
    path,
    arch: found,
    format: ckpt.format,
    numClasses: model.numClasses,
    parameters,
    bnLayers: model.bnLayers().map((l) => ({ name: l.name, stage: l.stage, channels: l.bn.numFeatures, momentum: l.bn.momentum, eps: l.bn.eps })),
    bnMomentum: bnMomentumInfo(model, ckpt.format === 'tfjs-layers'),
    keyReport: { ...report, notes: ckpt.notes },
    preprocessing: { inputSize: model.preprocessing.inputSize, normalize: normalizeOf(model) },
  }
  return { model, info }
}

export async function inspectModel(path: string, arch?: string): Promise<ModelInfo> {
  const { model, info } = await loadWithReport(path, arch)
  model.dispose()
  return info
}


/** Source vs target BN statistics of one data set, per layer, without training or changing the model (Algorithm 1's statistics pass). */
export async function measureDomainShift(req: ShiftRequest): Promise<DomainShiftReport> {
  const { model } = await loadWithReport(req.modelPath, req.arch)
  try {
    const ds = await importDataset(req.dataRoot, { role: 'ood', verify: 'none', valFraction: 0 })
    const pool = (req.split ? ds.splits[req.split as 'train' | 'val' | 'test'] : undefined) ?? ds.splits.train ?? ds.splits.test ?? ds.splits.val ?? []
    if (!pool.length) throw new Error(`${req.dataRoot}: no images found`)
    const samples = stratifiedSubset(pool, req.limit ?? 1000, 0)
    const size = req.size ?? model.preprocessing.inputSize[0]
    const loader = createLoader({
      samples,
      batchSize: req.batchSize ?? 64,
      shuffle: false,
      transform: { ops: [{ op: 'resize', size: [size, size] }], normalize: { preset: req.normalize ?? normalizeOf(model) } },
      workers: 0,
    })
    const stats = await targetStatistics(model, loader.epoch(0), { disposeBatches: true })
    await loader.close()
    const r = domainShift(stats.layers)
    return {
      dataRoot: req.dataRoot,
      images: stats.samples,
      overall: { meanShift: r.meanShift, varShift: r.varShift, score: r.combined },
      layers: r.layers.map((l) => ({ name: l.name, stage: l.stage, meanShift: l.meanShift, varShift: l.varShift })),
      verdict: `${basename(req.dataRoot)}: ${r.text}`,
    }
  } finally {
    model.dispose()
  }
}
