/**
 * The four methods on real data, in the engine: resnet20 (CIFAR-10) fine-tuned for one epoch on 1,000
 * MNIST-M training images, evaluated on MNIST and USPS. Training loss falls within the epoch, and the
 * tensor count is the same after epochs 1 and 2.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { runJob } from '../../../../src/main/engine/tasks/runJob'
import { defaultRecipe, type MethodName } from '../../../../src/shared/recipes'
import type { ExperimentData } from '../../../../src/shared/experiments'
import type { EngineEvent } from '../../../../src/main/engine/protocol'
import { CIFAR_RESNET, DIGITS } from '../../../helpers/paths'

const dir = mkdtempSync(join(tmpdir(), 'daft-digits-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(async () => {
  await initBackend()
})

const data: ExperimentData = {
  id: { root: join(DIGITS, 'mnist_m'), limits: { train: 1000, val: 100, test: 100 } },
  valFraction: 0.1,
  ood: { mnist: { root: join(DIGITS, 'mnist'), limit: 200 }, usps: { root: join(DIGITS, 'usps'), limit: 200 } },
  size: 32,
  normalize: 'imagenet',
  augment: [],
}
const LR: Record<MethodName, { backbone: number; head: number }> = {
  LP: { backbone: 0, head: 0 },
  FT: { backbone: 0.01, head: 0.01 },
  'LP-FT': { backbone: 1e-4, head: 1e-4 },
  DAFT: { backbone: 0.01, head: 0.1 },
  custom: { backbone: 0.01, head: 0.01 },
}

async function run(method: MethodName, epochs: number) {
  const events: EngineEvent[] = []
  const tensorsAfterEpoch: number[] = []
  const recipe = { ...defaultRecipe(method), lr: LR[method], ...(method === 'LP' ? {} : { epochs }) }
  const out = await runJob({
    runId: 1,
    spec: { model: { path: join(CIFAR_RESNET, 'resnet20-12fca82f.th') }, data, recipe, seed: 0, role: 'single' },
    runDir: join(dir, method),
    cacheDir: join(dir, 'cache'),
    resume: false,
    signal: new AbortController().signal,
    workers: 1,
    emit: (ev) => {
      events.push(ev)
      // trained epochs only: a start evaluated as epoch -1 (LP-FT, DAFT) comes before any training step
      if (ev.type === 'run.epoch' && ev.metrics.epoch >= 0) tensorsAfterEpoch.push(tf.memory().numTensors)
    },
  })
  const losses = events.flatMap((e) => (e.type === 'run.batch' ? [e.loss] : []))
  return { out, losses, tensorsAfterEpoch, events }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

describe('LP, FT, LP-FT and DAFT on MNIST-M -> MNIST, USPS (resnet20)', () => {
  it('LP fits a probe and evaluates every set', async () => {
    const { out } = await run('LP', 0)
    expect(out.status).toBe('succeeded')
    expect(Object.keys(out.final).sort()).toEqual(['id-test', 'id-val', 'mnist', 'usps'])
    expect(out.final['id-val']).toBeGreaterThan(0.2) // well above chance (0.1) on frozen CIFAR features
  })

  for (const method of ['FT', 'LP-FT'] as const) {
    it(`${method}: one epoch, training loss falls, every set evaluated`, async () => {
      const { out, losses } = await run(method, 1)
      expect(out.status).toBe('succeeded')
      // 1,000 training images (val is split off the rest of mnist_m/train), batch 64
      expect(losses.length).toBe(Math.ceil(1000 / 64))
      expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)))
      for (const set of ['id-val', 'id-test', 'mnist', 'usps']) expect(out.final[set]).toBeGreaterThanOrEqual(0)
    })
  }

  it('DAFT: two epochs, loss falls, tensor count equal after epochs 1 and 2', async () => {
    const { out, losses, tensorsAfterEpoch, events } = await run('DAFT', 2)
    expect(out.status).toBe('succeeded')
    expect(events.some((e) => e.type === 'run.stage' && e.stage === 'bn-conversion')).toBe(true)
    expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)))
    // DAFT's converted network with its zero head is evaluated as the start (epoch -1), then two trained epochs
    expect(events.filter((e) => e.type === 'run.epoch').map((e) => (e.type === 'run.epoch' ? e.metrics.epoch : null))).toEqual([-1, 0, 1])
    expect(tensorsAfterEpoch).toHaveLength(2)
    expect(tensorsAfterEpoch[1]).toBe(tensorsAfterEpoch[0])
    expect(out.final.mnist).toBeGreaterThan(0.1)
  })
})
