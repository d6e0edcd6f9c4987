/**
 * Writes the demo data set as ImageFolder trees of PNGs:
 *   <dir>/<style>/{train,test}/<class>/<i>.png
 * (the source style with all ten source shapes, the target styles with the task's five).
 * Idempotent: a complete tree (marker file with the same spec) is left as it is; another spec or drawing version
 * replaces each style's folder as a whole.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { DEMO_SIZE, DEMO_STYLES, classesOf, drawShape, imageSeed, type DemoStyle } from './shapes'

export interface DemoSpec {
  /** images per class per split of each target style */
  perClass: { train: number; test: number }
  /** images per class per split of the source style (what the demo CNN is pretrained on) */
  sourcePerClass: { train: number; test: number }
  styles: readonly DemoStyle[]
}

export const DEFAULT_DEMO_SPEC: DemoSpec = { perClass: { train: 150, test: 30 }, sourcePerClass: { train: 300, test: 50 }, styles: DEMO_STYLES }

/** data-format version: bump when the drawing changes, so stores made by older versions redraw their images */
const VERSION = 3

export async function generateDemoData(dir: string, spec: DemoSpec = DEFAULT_DEMO_SPEC): Promise<{ dir: string; images: number; reused: boolean }> {
  const marker = join(dir, 'demo-data.json')
  const want = JSON.stringify({ version: VERSION, spec })
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) {
    return { dir, images: 0, reused: true }
  }
  let images = 0
  // each style is drawn into a private folder and renamed into place, so whoever reads the tree meanwhile sees a
  // style completely or not at all (never half of its classes)
  const work = join(dir, `.drawing-${process.pid}`)
  rmSync(work, { recursive: true, force: true })
  try {
    for (const style of spec.styles) {
      const perClass = style === 'source' ? spec.sourcePerClass : spec.perClass
      for (const split of ['train', 'test'] as const) {
        const jobs: Promise<unknown>[] = []
        for (const cls of classesOf(style)) {
          const folder = join(work, style, split, cls)
          mkdirSync(folder, { recursive: true })
          for (let i = 0; i < perClass[split]; i++) {
            const img = drawShape(cls, style, imageSeed(style, split, cls, i))
            const file = join(folder, `${String(i).padStart(4, '0')}.png`)
            jobs.push(sharp(Buffer.from(img.data), { raw: { width: DEMO_SIZE, height: DEMO_SIZE, channels: 3 } }).png().toFile(file))
            images++
          }
        }
        await Promise.all(jobs)
      }
      // an older tree of this style may hold other classes or more images: replaced as a whole
      rmSync(join(dir, style), { recursive: true, force: true })
      renameSync(join(work, style), join(dir, style))
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  writeFileSync(marker, want)
  return { dir, images, reused: false }
}
