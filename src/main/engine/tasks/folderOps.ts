/** One-shot engine work on an image folder, for the CLI: evaluate a checkpoint, convert its BN layers. */
import * as tf from '@tensorflow/tfjs'
import { basename } from 'node:path'
import type { ImportReport, NormalizePreset, SkippedFile } from '../../../shared/datasets'
import type { DomainShiftReport } from '../../../shared/types'
import { loadPretrained, type ArchName, type BNNet } from '../models'
import { importDataset, type Sample } from '../data/import'
import { createLoader } from '../data/loader'
import { byName } from '../data/folder'
import { evaluate } from '../train/evaluate'
import { convertBatchNorm } from '../methods/convertBatchNorm'
import { layerShifts, type LayerShift } from '../analysis/domainShift'
import { saveSafetensors } from '../io'
import { stratifiedSubset } from './experimentData'

export { inspectModel, measureDomainShift } from './models'
import { measureDomainShift, normalizeOf, type ShiftRequest } from './models'

type Progress = (label: string, done: number, total: number) => void

interface FolderRequest {
  modelPath: string
  arch?: string
  dataRoot: string
  size?: number
  normalize?: NormalizePreset
  batchSize: number
  onProgress?: Progress
}

/** Class folders the walk found empty (they are still classes of the folder's layout: the head has an output for each). */
function emptyClassFolders(report: ImportReport, split: string): string[] {
  return report.skipped.filter((s) => s.reason === 'empty-class' && s.split === split).map((s) => basename(s.path))
}

/**
 * The images of a folder (its test split, else val, else train), labelled by `classes` or, without them, by its
 * sorted class folder names, empty ones included (named as empty in the notes; every skipped entry is returned).
 */
async function folderSamples(root: string, classes: string[] | undefined): Promise<{ classes: string[]; samples: Sample[]; notes: string[]; skipped: SkippedFile[] }> {
  let ds = await importDataset(root, { role: 'ood', classes, verify: 'none', valFraction: 0 })
  if (!classes) {
    // the split the class list came from (importDataset: train, else test, else val)
    const base = (['train', 'test', 'val'] as const).find((s) => ds.report.splits[s]) ?? 'test'
    const empty = emptyClassFolders(ds.report, base).filter((c) => !ds.classes.includes(c))
    if (empty.length) ds = await importDataset(root, { role: 'ood', classes: [...ds.classes, ...empty].sort(byName), verify: 'none', valFraction: 0 })
  }
  const samples = ds.splits.test ?? ds.splits.val ?? ds.splits.train ?? []
  if (!samples.length) throw new Error(`${root}: no images of the classes ${ds.classes.join(', ')}`)
  return { classes: ds.classes, samples, notes: ds.report.notes, skipped: ds.report.skipped }
}

function loaderFor(model: BNNet, samples: Sample[], req: FolderRequest) {
  const size = req.size ?? model.preprocessing.inputSize[0]
  return createLoader({
    samples,
    batchSize: req.batchSize,
    shuffle: false,
    transform: { ops: [{ op: 'resize', size: [size, size] }], normalize: { preset: req.normalize ?? normalizeOf(model) } },
  })
}

export async function evaluateFolder(req: FolderRequest & { classes?: string[] }) {
  const model = await loadPretrained(req.modelPath, req.arch as ArchName | undefined)
  try {
    const { classes, samples, notes, skipped } = await folderSamples(req.dataRoot, req.classes)
    if (classes.length !== model.numClasses) {
      throw new Error(
        `${req.modelPath}: the head has ${model.numClasses} outputs but ${req.dataRoot} gives ${classes.length} classes (${classes.join(', ')}); pass the head's class order with --classes`,
      )
    }
    const loader = loaderFor(model, samples, req)
    let done = 0
    const batches = (async function* () {
      for await (const b of loader.epoch(0)) {
        done += b.y.length
        req.onProgress?.('evaluate', done, samples.length)
        yield b
      }
    })()
    const r = await evaluate(model, batches)
    await loader.close()
    return {
      model: req.modelPath,
      arch: model.arch,
      data: req.dataRoot,
      images: r.n,
      accuracy: r.accuracy,
      perClass: classes.map((c, i) => ({ className: c, images: r.classCounts[i], accuracy: r.perClass[i] })),
      failed: loader.failures().map((f) => ({ path: f.path, reason: f.reason })),
      /** entries the folder walk left out (zero-byte files, symbolic link loops, empty class folders, ...) */
      skipped,
      notes,
    }
  } finally {
    model.dispose()
  }
}

export async function convertFolder(req: FolderRequest & { outPath: string; limit?: number }) {
  const model = await loadPretrained(req.modelPath, req.arch as ArchName | undefined)
  try {
    const { samples: all } = await folderSamples(req.dataRoot, undefined)
    const samples = stratifiedSubset(all, req.limit, 0)
    const loader = loaderFor(model, samples, req)
    // the first batch also checks that conversion leaves the eval-mode function unchanged
    let probe: tf.Tensor4D | null = null
    let before: tf.Tensor2D | null = null
    let done = 0
    const xs = (async function* () {
      for await (const b of loader.epoch(0)) {
        if (!probe) {
          probe = tf.keep(b.x.clone())
          before = tf.keep(model.forward(probe, 'eval'))
        }
        done += b.y.length
        req.onProgress?.('convert-bn', done, samples.length)
        yield b.x
      }
    })()
    const conv = await convertBatchNorm(model, xs, { disposeBatches: true })
    await loader.close()
    let maxRelativeOutputChange = 0
    if (probe && before) {
      const after = model.forward(probe, 'eval')
      const diff = (await tf.max(tf.abs(tf.sub(after, before))).data())[0]
      const scale = (await tf.max(tf.abs(before as tf.Tensor2D)).data())[0]
      maxRelativeOutputChange = diff / Math.max(scale, 1e-12)
      tf.dispose([after, probe, before])
    }
    await saveSafetensors(req.outPath, model.stateDict(), { arch: model.arch, converted_on: req.dataRoot, images: String(conv.samples) })
    const layers: LayerShift[] = layerShifts(conv.layers)
    return { out: req.outPath, arch: model.arch, images: conv.samples, batches: conv.batches, maxRelativeOutputChange, layers }
  } finally {
    model.dispose()
  }
}

/** The domain-shift meter on a folder, with the entries its walk left out and the walk's notes (the CLI's `daft shift`). */
export async function measureFolderShift(req: ShiftRequest): Promise<DomainShiftReport & { skipped: SkippedFile[]; notes: string[] }> {
  const r = await measureDomainShift(req)
  const { report } = await importDataset(req.dataRoot, { role: 'ood', verify: 'none', valFraction: 0 })
  return { ...r, skipped: report.skipped, notes: report.notes }
}
