/**
 * Regenerates the built-in demo model: a CIFAR-style ResNet-8 (BatchNorm) pretrained by the project's own
 * training loop on the demo's SOURCE task (all ten shapes of DEMO_SOURCE_CLASSES in grey renderings, the
 * `source` style's train split), saved as resources/demo/demo-resnet8.safetensors with PyTorch key names, plus
 * resources/demo/demo-model.json (what it saw, how it was trained, and how its own head does per style).
 *
 *   npm run demo:generate [-- --epochs 15]
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
import { DEFAULT_DEMO_SPEC, generateDemoData } from '../src/main/demo/generate'
import { DEMO_CLASSES, DEMO_STYLES } from '../src/main/demo/shapes'
import { importDataset } from '../src/main/engine/data/import'
import { createLoader } from '../src/main/engine/data/loader'
import { trainRun } from '../src/main/engine/train/loop'
import { evaluate } from '../src/main/engine/train/evaluate'
import { defaultRecipe } from '../src/shared/recipes'

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '15' }, out: { type: 'string', default: 'resources/demo' } } })
const epochs = Number(values.epochs)
const backend = await initBackend()
const dir = mkdtempSync(join(tmpdir(), 'daft-demo-'))
const t0 = Date.now()
try {
  await generateDemoData(dir)
  const source = await importDataset(join(dir, 'source'), { valFraction: 0, verify: 'none' })
  const norm = { preset: 'imagenet' as const }
  const augment = [{ op: 'randomCrop' as const, size: 32, padding: 4 }, { op: 'horizontalFlip' as const }]
  const train = createLoader({ samples: source.splits.train!, batchSize: 64, seed: 0, transform: { ops: augment, normalize: norm } })
  const model = createModel('resnet8', source.classes.length, { seed: 0 })
  /**
   * Test accuracy of the pretrained network's own head: over all ten classes on the source style; on a target
   * style (five of the shapes) with the prediction restricted to those five, a measure of how far the source
   * features carry before any fine-tuning.
   */
  const evalOf = async (style: string) => {
    const ds = await importDataset(join(dir, style), { valFraction: 0, verify: 'none', classes: source.classes })
    const l = createLoader({ samples: ds.splits.test!, batchSize: 128, shuffle: false, transform: { ops: [], normalize: norm } })
    const r = await evaluate(model, l.epoch(0), { keepLogits: true })
    await l.close()
    if (style === 'source') return r.accuracy
    const allowed = DEMO_CLASSES.map((c) => source.classes.indexOf(c))
    const K = source.classes.length
    let right = 0
    for (let i = 0; i < r.n; i++) {
      let best = allowed[0]
      for (const c of allowed) if (r.logits![i * K + c] > r.logits![i * K + best]) best = c
      if (best === ds.splits.test![i].label) right++
    }
    return right / r.n
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
  for (const style of DEMO_STYLES) accuracy[style] = Number((await evalOf(style)).toFixed(4))
  console.log('test accuracy per style:', accuracy)
  const out = values.out!
  await saveSafetensors(join(out, 'demo-resnet8.safetensors'), model.stateDict(), { arch: 'resnet8', classes: JSON.stringify(source.classes) })
  const spec = DEFAULT_DEMO_SPEC
  writeFileSync(
    join(out, 'demo-model.json'),
    JSON.stringify(
      {
        file: 'demo-resnet8.safetensors',
        arch: 'resnet8',
        classes: source.classes,
        pretrainedOn:
          `demo style "source", train split: ${source.classes.length} shapes x ${spec.sourcePerClass.train} images, grey renderings ` +
          '(light on dark, dark on light, either on a noisy shaded background); no colour, no texture, no outlines',
        targetTask: { classes: DEMO_CLASSES, id: 'color', ood: ['texture', 'stroke'] },
        recipe: { epochs, lr: 0.1, schedule: 'cosine', momentum: 0.9, weightDecay: 5e-4, batchSize: 64, augment: 'randomCrop(32, pad 4) + horizontalFlip', seed: 0 },
        testAccuracy: accuracy,
        testAccuracyNote: 'its own head on each style\'s test split: over the ten classes on source; restricted to the five target shapes on color, texture and stroke',
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
