/** Generates small image folders (good and bad files) in a temp dir for the data tests. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import sharp from 'sharp'

export function tempDir(prefix = 'daft-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** A w x h RGB image whose pixel (x, y) = (x * 10 + seed, y * 10, 100 + seed) mod 256. */
export function pattern(w: number, h: number, seed = 0): Buffer {
  const b = Buffer.alloc(w * h * 3)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3
      b[p] = (x * 10 + seed) % 256
      b[p + 1] = (y * 10) % 256
      b[p + 2] = (100 + seed) % 256
    }
  return b
}

export async function writeImage(file: string, w: number, h: number, seed = 0, format: 'png' | 'jpeg' | 'webp' | 'tiff' | 'gif' = 'png'): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  await sharp(pattern(w, h, seed), { raw: { width: w, height: h, channels: 3 } }).toFormat(format).toFile(file)
}

export interface BadKit {
  root: string
  /** path -> expected reason */
  expected: Record<string, string>
  /** good files per class */
  good: Record<string, number>
}

/**
 * An ImageFolder with classes a, b (good images) and every kind of bad entry:
 * truncated JPEG, zero-byte file, text named .png, PNG header claiming 30000x30000, FIFO named .png
 * (unreadable: the tests run as root, so chmod 000 would not stop reads), symlink loop, empty class folder.
 */
export async function makeBadKit(): Promise<BadKit> {
  const root = tempDir('daft-badkit-')
  const expected: Record<string, string> = {}
  for (let i = 0; i < 3; i++) await writeImage(path.join(root, 'a', `good${i}.png`), 8, 8, i)
  for (let i = 0; i < 2; i++) await writeImage(path.join(root, 'b', `good${i}.jpg`), 8, 8, i, 'jpeg')

  const jpeg = await sharp(pattern(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer()
  const trunc = path.join(root, 'a', 'truncated.jpg')
  fs.writeFileSync(trunc, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))
  expected[trunc] = 'corrupt'

  const zero = path.join(root, 'a', 'zero.jpg')
  fs.writeFileSync(zero, '')
  expected[zero] = 'corrupt'

  const text = path.join(root, 'b', 'notes.png')
  fs.writeFileSync(text, 'this is not a picture\n')
  expected[text] = 'not-an-image'

  const png = Buffer.from(await sharp(pattern(8, 8), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer())
  png.writeUInt32BE(30000, 16) // IHDR width
  png.writeUInt32BE(30000, 20) // IHDR height
  const bomb = path.join(root, 'b', 'bomb.png')
  fs.writeFileSync(bomb, png)
  expected[bomb] = 'too-large'

  const fifo = path.join(root, 'b', 'pipe.png')
  execFileSync('mkfifo', [fifo])
  expected[fifo] = 'unreadable'

  const loop = path.join(root, 'a', 'loop.png')
  fs.symlinkSync('loop.png', loop) // points at itself: ELOOP
  expected[loop] = 'symlink-loop'

  const dirLoop = path.join(root, 'b', 'again')
  fs.symlinkSync('..', dirLoop) // a folder link back to its parent
  expected[dirLoop] = 'symlink-loop'

  const empty = path.join(root, 'empty')
  fs.mkdirSync(empty)
  expected[empty] = 'empty-class'

  const readme = path.join(root, 'a', 'README.txt')
  fs.writeFileSync(readme, 'hello')
  expected[readme] = 'not-an-image'

  return { root, expected, good: { a: 3, b: 2 } }
}
