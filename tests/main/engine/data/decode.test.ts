import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeImage, probeImage, SUPPORTED_EXTENSIONS } from '../../../../src/main/engine/data'
import { pattern, tempDir, writeImage } from './kit'

const dir = tempDir('daft-decode-')
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('decodeImage', () => {
  it('reads JPEG, PNG, WebP, TIFF, GIF and AVIF as 8-bit RGB', async () => {
    const formats = ['png', 'jpeg', 'webp', 'tiff', 'gif'] as const
    for (const f of formats) {
      const file = path.join(dir, `img.${f}`)
      await writeImage(file, 6, 4, 30, f)
      const img = await decodeImage(file)
      expect([img.width, img.height, img.channels, img.data.length]).toEqual([6, 4, 3, 72])
      if (f === 'png') expect(Buffer.from(img.data)).toEqual(pattern(6, 4, 30))
    }
    expect(SUPPORTED_EXTENSIONS).toContain('.avif') // this sharp build has libheif
    const avif = path.join(dir, 'img.avif')
    await sharp(pattern(16, 16), { raw: { width: 16, height: 16, channels: 3 } }).avif().toFile(avif)
    expect((await decodeImage(avif)).data.length).toBe(16 * 16 * 3)
  })

  it('turns grey into RGB and drops alpha', async () => {
    const grey = path.join(dir, 'grey.png')
    await sharp(Buffer.from([0, 50, 100, 150, 200, 250]), { raw: { width: 3, height: 2, channels: 1 } }).png().toFile(grey)
    expect(Array.from((await decodeImage(grey)).data.subarray(0, 6))).toEqual([0, 0, 0, 50, 50, 50])
    const rgba = path.join(dir, 'rgba.png')
    await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(rgba)
    expect(Array.from((await decodeImage(rgba)).data)).toEqual([10, 20, 30, 40, 50, 60])
  })

  it('applies EXIF orientation', async () => {
    const file = path.join(dir, 'rot.jpg')
    // stored 8 wide x 4 high, orientation 6 = display rotated 90 degrees clockwise -> 4 x 8
    await sharp(pattern(8, 4), { raw: { width: 8, height: 4, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(file)
    const img = await decodeImage(file)
    expect([img.width, img.height]).toEqual([4, 8])
    expect(await probeImage(file)).toMatchObject({ width: 4, height: 8 })
  })

  it('takes the first frame of an animated GIF', async () => {
    const file = path.join(dir, 'anim.gif')
    const red = Buffer.alloc(4 * 4 * 3).fill(0)
    for (let i = 0; i < 16; i++) red[3 * i] = 255
    const blue = Buffer.alloc(4 * 4 * 3).fill(0)
    for (let i = 0; i < 16; i++) blue[3 * i + 2] = 255
    await sharp(Buffer.concat([red, blue]), { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } } as never).gif().toFile(file)
    expect((await sharp(file).metadata()).pages).toBe(2)
    const img = await decodeImage(file)
    expect([img.width, img.height]).toEqual([4, 4])
    expect(Array.from(img.data.subarray(0, 3))).toEqual([255, 0, 0])
  })

  it('resizes while decoding (shorter side or exact) and refuses images above the pixel limit', async () => {
    const file = path.join(dir, 'wide.png')
    await writeImage(file, 40, 20)
    expect(await decodeImage(file, { size: 10 })).toMatchObject({ width: 20, height: 10 })
    expect(await decodeImage(file, { size: [8, 12] })).toMatchObject({ width: 12, height: 8 })
    await expect(decodeImage(file, { pixelLimit: 100 })).rejects.toMatchObject({ reason: 'too-large', message: expect.stringContaining('wide.png') })
    const txt = path.join(dir, 'fake.jpg')
    fs.writeFileSync(txt, 'not a jpeg')
    await expect(decodeImage(txt)).rejects.toMatchObject({ reason: 'not-an-image', message: expect.stringContaining('fake.jpg') })
    await expect(decodeImage(path.join(dir, 'missing.png'))).rejects.toMatchObject({ reason: 'unreadable' })
  })
})
