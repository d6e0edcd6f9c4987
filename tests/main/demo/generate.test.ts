/** The demo data on disk: ImageFolder trees per style, 32x32 PNGs, idempotent, redrawn when the spec changes. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_DEMO_SPEC, generateDemoData } from '../../../src/main/demo/generate'
import { DEMO_CLASSES, DEMO_SOURCE_CLASSES } from '../../../src/main/demo/shapes'

const dir = mkdtempSync(join(tmpdir(), 'daft-demo-gen-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('generateDemoData', () => {
  const spec = { ...DEFAULT_DEMO_SPEC, perClass: { train: 3, test: 2 }, sourcePerClass: { train: 2, test: 1 } }

  it('writes train/test class folders per style: ten shapes for source, the task\'s five for the others', async () => {
    const r = await generateDemoData(dir, spec)
    expect(r.reused).toBe(false)
    expect(r.images).toBe(10 * 3 + 3 * 5 * 5)
    expect(readdirSync(join(dir, 'source', 'train')).sort()).toEqual([...DEMO_SOURCE_CLASSES])
    for (const style of ['color', 'texture', 'stroke']) {
      expect(readdirSync(join(dir, style, 'train')).sort()).toEqual([...DEMO_CLASSES])
      expect(readdirSync(join(dir, style, 'test', 'star'))).toEqual(['0000.png', '0001.png'])
    }
    const meta = await sharp(join(dir, 'color', 'train', 'circle', '0000.png')).metadata()
    expect([meta.width, meta.height, meta.channels, meta.format]).toEqual([32, 32, 3, 'png'])
  })

  it('leaves a complete tree alone and redraws it, stale files gone, when the spec changes', async () => {
    expect((await generateDemoData(dir, spec)).reused).toBe(true)
    const smaller = { ...spec, perClass: { train: 1, test: 1 } }
    const r = await generateDemoData(dir, smaller)
    expect(r.reused).toBe(false)
    expect(readdirSync(join(dir, 'color', 'train', 'circle'))).toEqual(['0000.png'])
    expect(existsSync(join(dir, 'texture', 'train', 'circle', '0002.png'))).toBe(false)
  })
})
