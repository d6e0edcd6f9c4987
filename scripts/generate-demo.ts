/**
 * Regenerates the built-in demo model: a CIFAR-style ResNet-8 (BatchNorm) pretrained by the project's
 * own training loop on the demo's SOURCE style, saved as resources/demo/demo-resnet8.safetensors with
 * PyTorch key names, plus resources/demo/demo-model.json (how it was made, accuracies per style).
 *
 *   npm run demo:generate [-- --epochs 30]
 *
 * Deterministic for a given backend (seeded init, shuffling and augmentation).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/main/engine/backend'
import { createModel } from '../src/main/engine/models'
import { saveSafetensors } from '../src/main/engine/io'
import { generateDemoData } from '../src/main/demo/generate'
import { DEMO_CLASSES, DEMO_STYLES } from '../src/main/demo/shapes'
import { importDataset } from '../src/main/engine/data/import'
import { createLoader } from '../src/main/engine/data/loader'
import { trainRun } from '../src/main/engine/train/loop'
import { evaluate } from '../src/main/engine/train/evaluate'
import { defaultRecipe } from '../src/shared/recipes'

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '30' }, out: { type: 'string', default: 'resources/demo' } } })
const epochs = Number(values.epochs)
const backend = await initBackend()
const dir = mkdtempSync(join(tmpdir(), 'daft-demo-'))
const t0 = Date.now()
try {
  await generateDemoData(dir)
  const source = await importDataset(join(dir, 'source'), { valFraction: 0, verify: 'none' })
  const norm = { preset: 'imagenet' as const }
  const train = createLoader({
    samples: source.splits.train!,
    batchSize: 64,
    seed: 0,
    transform: { ops: [{ op: 'randomCrop', size: 32, padding: 4 }, { op: 'horizontalFlip' }], normalize: norm },
  })
  const model = createModel('resnet8', DEMO_CLASSES.length, { seed: 0 })
  const evalOf = async (style: string) => {
    const ds = await importDataset(join(dir, style), { valFraction: 0, verify: 'none', classes: source.classes })
    const l = createLoader({ samples: ds.splits.test!, batchSize: 128, shuffle: false, transform: { ops: [], normalize: norm } })
    const r = await evaluate(model, l.epoch(0))
    await l.close()
    return r.accuracy
  }
  const recipe = { ...defaultRecipe('FT'), lr: { backbone: 0.1, head: 0.1 }, epochs, weightDecay: 5e-4, earlyStopping: false }
  await trainRun({
    model,
    recipe,
    seed: 0,
    trainBatches: (e) => train.epoch(e),
    batchesPerEpoch: train.numBatches,
    evalSets: [],
    onEpoch: (e) => console.log(`epoch ${e.epoch + 1}/${epochs}: loss ${(e.trainLoss ?? NaN).toFixed(4)}, train acc ${(100 * (e.trainAccuracy ?? NaN)).toFixed(1)}%, ${e.imagesPerSec.toFixed(0)} img/s`),
  })
  await train.close()
  const accuracy: Record<string, number> = {}
  for (const style of DEMO_STYLES) accuracy[style] = await evalOf(style)
  console.log('test accuracy per style:', accuracy)
  const out = values.out!
  await saveSafetensors(join(out, 'demo-resnet8.safetensors'), model.stateDict(), { arch: 'resnet8', classes: JSON.stringify(source.classes) })
  writeFileSync(
    join(out, 'demo-model.json'),
    JSON.stringify(
      {
        file: 'demo-resnet8.safetensors',
        arch: 'resnet8',
        classes: source.classes,
        pretrainedOn: 'demo style "source" (white shapes on dark), train split, 120 images per class',
        recipe: { epochs, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, batchSize: 64, augment: 'randomCrop(32, pad 4) + horizontalFlip', seed: 0 },
        testAccuracy: accuracy,
        backend: backend.name,
        seconds: Math.round((Date.now() - t0) / 1000),
        regenerate: 'npm run demo:generate',
      },
      null,
      2,
    ) + '\n',
  )
  model.dispose()
  console.log(`wrote ${out}/demo-resnet8.safetensors in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
