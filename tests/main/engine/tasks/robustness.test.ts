/**
 * The robustness task: images decoded at their own size (short side capped at 256), the report naming the
 * constants' family and the sizes the corruptions were applied at; one small end-to-end run on real data
 * (resnet20, 20 CIFAR-10 test images plus one 256-px collage of them, working size 32).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/main/engine/backend'
import { saveSafetensors } from '../../../../src/main/engine/io'
import { loadPretrained } from '../../../../src/main/engine/models'
import { decodeForCorruption, describeCorruptionSizes, runRobustness } from '../../../../src/main/engine/tasks/robustness'
import { FINAL_WEIGHTS } from '../../../../src/main/engine/tasks/runJob'
import { defaultRecipe } from '../../../../src/shared/recipes'
import { CORRUPTIONS } from '../../../../src/main/engine/analysis/corruptions'
import { CIFAR_RESNET, SHARED_DATA } from '../../../helpers/paths'

const CIFAR_TEST = join(SHARED_DATA, 'cifar10-jpeg', 'test')
const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')
let dir = ''

/** A PNG collage of CIFAR test images (real pixels, 32-px tiles) of the given size. */
async function writeCollage(file: string, width: number, height: number): Promise<void> {
  const files = readdirSync(CIFAR_TEST).sort().flatMap((c) => readdirSync(join(CIFAR_TEST, c)).sort().slice(0, 10).map((f) => join(CIFAR_TEST, c, f)))
  const cols = Math.ceil(width / 32)
  const composite = Array.from({ length: cols * Math.ceil(height / 32) }, (_, i) => ({ input: files[(i * 7) % files.length], left: (i % cols) * 32, top: Math.floor(i / cols) * 32 }))
  await sharp({ create: { width: cols * 32, height: Math.ceil(height / 32) * 32, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite(composite)
    .png()
    .toBuffer()
    .then((b) => sharp(b).extract({ left: 0, top: 0, width, height }).png().toFile(file))
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'daft-robustness-'))
})
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('decodeForCorruption / describeCorruptionSizes', () => {
  it('decodes small images at their own size and larger ones with the short side resized to 256', async () => {
    await writeCollage(join(dir, 'wide.png'), 512, 384)
    await writeCollage(join(dir, 'tall.png'), 200, 300)
    const wide = await decodeForCorruption(join(dir, 'wide.png'))
    expect([wide.width, wide.height, wide.data.length]).toEqual([341, 256, 341 * 256 * 3])
    const tall = await decodeForCorruption(join(dir, 'tall.png'))
    expect([tall.width, tall.height]).toEqual([200, 300])
    const small = await decodeForCorruption(join(CIFAR_TEST, 'cat', readdirSync(join(CIFAR_TEST, 'cat')).sort()[0]))
    expect([small.width, small.height, small.data.length]).toEqual([32, 32, 32 * 32 * 3])
  })

  it("names one family, or 'mixed', and the sizes most frequent first", () => {
    const sz = (width: number, height: number): { width: number; height: number } => ({ width, height })
    expect(describeCorruptionSizes([sz(32, 32), sz(32, 32), sz(28, 28)])).toEqual({ family: 'cifar', corruptedAt: [{ width: 32, height: 32, images: 2 }, { width: 28, height: 28, images: 1 }], more: 0 })
    expect(describeCorruptionSizes([sz(256, 341), sz(256, 256), sz(256, 256)]).family).toBe('imagenet')
    const mixed = describeCorruptionSizes([sz(32, 32), sz(256, 256), ...Array.from({ length: 6 }, (_, i) => sz(100 + i, 100))], 3)
    expect(mixed.family).toBe('mixed')
    expect(mixed.corruptedAt).toHaveLength(3)
    expect(mixed.more).toBe(5)
  })
})

describe('runRobustness', () => {
  it('reports the family and sizes: 32-px CIFAR images (CIFAR-10-C constants) with one 256-px image (ImageNet-C) is mixed', async () => {
    await initBackend()
    const root = join(dir, 'id')
    const classes = readdirSync(CIFAR_TEST).sort()
    for (const c of classes) {
      const files = readdirSync(join(CIFAR_TEST, c)).sort()
      for (const [split, picked] of [['train', files.slice(10, 12)], ['test', files.slice(0, 2)]] as const) {
        mkdirSync(join(root, split, c), { recursive: true })
        for (const f of picked) copyFileSync(join(CIFAR_TEST, c, f), join(root, split, c, f))
      }
    }
    await writeCollage(join(root, 'test', 'airplane', 'collage.png'), 256, 256)
    const runDir = join(dir, 'run')
    mkdirSync(runDir)
    const net = await loadPretrained(RESNET20)
    await saveSafetensors(join(runDir, FINAL_WEIGHTS), net.stateDict())
    net.dispose()
    const progress: number[] = []
    const report = await runRobustness({
      runId: 7,
      runDir,
      spec: {
        model: { path: RESNET20, arch: 'resnet20' },
        data: { id: { root }, valFraction: 0.1, ood: {}, size: 32, normalize: 'imagenet', augment: [] },
        recipe: defaultRecipe('FT'),
        seed: 0,
        role: 'single',
      },
      onProgress: (done) => progress.push(done),
    })
    expect(report.images).toBe(21)
    expect(report.family).toBe('mixed')
    expect(report.corruptedAt).toEqual([{ width: 32, height: 32, images: 20 }, { width: 256, height: 256, images: 1 }])
    expect(report.workingSize).toBe(32)
    expect(report.note).toMatch(/own resolution \(32x32 \(20\), 256x256 \(1\); short side capped at 256\)/)
    expect(report.note).toMatch(/CIFAR-10-C constants for images with a short side <= 90 px and ImageNet-C constants for larger ones, then resized to the working size 32x32/)
    expect(report.corruptions.map((c) => c.name)).toEqual([...CORRUPTIONS])
    expect(progress).toHaveLength(75)
    // resnet20 gets most of the 20 CIFAR images right (the collage is labelled 'airplane' at random)
    expect(report.cleanError).toBeLessThan(0.35)
    expect(report.mCE).toBeGreaterThan(report.cleanError)
    const noise = report.corruptions.find((c) => c.name === 'gaussian_noise')!
    expect(noise.errors[4]).toBeGreaterThan(report.cleanError)
  })
})
