/**
 * Writes the demo data set as ImageFolder trees of PNGs:
 *   <dir>/<style>/{train,test}/<class>/<i>.png
 * Idempotent: a complete tree (marker file with the same spec) is left as it is.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { DEMO_CLASSES, DEMO_SIZE, DEMO_STYLES, drawShape, imageSeed, type DemoStyle } from './shapes'

export interface DemoSpec {
  /** images per class per split */
  perClass: { train: number; test: number }
  styles: readonly DemoStyle[]
}

export const DEFAULT_DEMO_SPEC: DemoSpec = { perClass: { train: 120, test: 60 }, styles: DEMO_STYLES }

export async function generateDemoData(dir: string, spec: DemoSpec = DEFAULT_DEMO_SPEC): Promise<{ dir: string; images: number; reused: boolean }> {
  const marker = join(dir, 'demo-data.json')
  const want = JSON.stringify({ version: 2, spec })
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) {
    return { dir, images: 0, reused: true }
  }
  let images = 0
  for (const style of spec.styles) {
    for (const split of ['train', 'test'] as const) {
      for (let label = 0; label < DEMO_CLASSES.length; label++) {
        const folder = join(dir, style, split, DEMO_CLASSES[label])
        mkdirSync(folder, { recursive: true })
        const jobs: Promise<unknown>[] = []
        for (let i = 0; i < spec.perClass[split]; i++) {
          const img = drawShape(label, style, imageSeed(style, split, label, i))
          const file = join(folder, `${String(i).padStart(4, '0')}.png`)
          jobs.push(sharp(Buffer.from(img.data), { raw: { width: DEMO_SIZE, height: DEMO_SIZE, channels: 3 } }).png().toFile(file))
          images++
        }
        await Promise.all(jobs)
      }
    }
  }
  writeFileSync(marker, want)
  return { dir, images, reused: false }
}
