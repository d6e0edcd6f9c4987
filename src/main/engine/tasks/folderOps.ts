/** One-shot engine work on an image folder, for the CLI: evaluate a checkpoint, convert its BN layers. */
import * as tf from '@tensorflow/tfjs'
import type { NormalizePreset } from '../../../shared/datasets'
import { loadPretrained, type ArchName, type BNNet } from '../models'
import { importDataset, type Sample } from '../data/import'
import { createLoader } from '../data/loader'
import { evaluate } from '../train/evaluate'
import { convertBatchNorm } from '../methods/convertBatchNorm'
import { layerShifts, type LayerShift } from '../analysis/domainShift'
import { saveSafetensors } from '../io'
import { stratifiedSubset } from './experimentData'

export { inspectModel, measureDomainShift } from './models'
import { normalizeOf } from './models'

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

async function folderSamples(root: string, classes: string[] | undefined): Promise<{ classes: string[]; samples: Sample[]; notes: string[] }> {
  const ds = await importDataset(root, { role: 'ood', classes, verify: 'none', valFraction: 0 })
  const samples = ds.splits.test ?? ds.splits.val ?? ds.splits.train ?? []
  if (!samples.length) throw new Error(`${root}: no images of the classes ${ds.classes.join(', ')}`)
  return { classes: ds.classes, samples, notes: ds.report.notes }
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
    const { classes, samples, notes } = await folderSamples(req.dataRoot, req.classes)
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
