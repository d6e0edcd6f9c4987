import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { createModel, loadPretrained } from '../../../../src/main/engine/models'
import { exportTfjs } from '../../../../src/main/engine/models/tfjsExport'
import type { BNNet } from '../../../../src/main/engine/models/types'
import { CIFAR_RESNET } from '../../../helpers/paths'

const dir = mkdtempSync(join(tmpdir(), 'daft-tfjs-export-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(async () => {
  await initBackend()
})

/** Loads the exported files with tfjs-layers itself (what a TF.js app would do). */
async function loadExported(out: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'))
  const bin = readFileSync(join(out, 'weights.bin'))
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }))
}

async function sameLogits(model: BNNet, out: string, size: number): Promise<number> {
  await exportTfjs(model, out, { classes: [] })
  const layers = await loadExported(out)
  const x = tf.randomNormal([4, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D
  const ours = model.forward(x, 'eval')
  const theirs = layers.predict(x) as tf.Tensor
  const rel = tf.tidy(() => tf.max(tf.abs(tf.sub(ours, theirs))).div(tf.max(tf.abs(ours))).dataSync()[0])
  tf.dispose([x, ours, theirs])
  layers.dispose()
  return rel
}

describe('TF.js layers export', () => {
  it('resnet20 (option-A shortcuts): tf.loadLayersModel gives the same eval logits', async () => {
    const model = await loadPretrained(join(CIFAR_RESNET, 'resnet20-12fca82f.th'))
    expect(await sameLogits(model, join(dir, 'resnet20'), 32)).toBeLessThan(1e-4)
    model.dispose()
  })

  it('torchvision resnet18 (stem max pool, downsample) and a 5-class head', async () => {
    const model = createModel('resnet18', 5, { seed: 3 })
    // give BN non-trivial statistics so an eps or padding mistake would show
    for (const l of model.bnLayers()) {
      const C = l.bn.numFeatures
      l.bn.setState({ runningMean: Float32Array.from({ length: C }, (_, i) => 0.1 * Math.sin(i)), runningVar: Float32Array.from({ length: C }, (_, i) => 1 + 0.5 * Math.cos(i)) })
    }
    expect(await sameLogits(model, join(dir, 'resnet18'), 64)).toBeLessThan(1e-4)
    model.dispose()
  })
})
