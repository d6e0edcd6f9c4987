/** Test helper: decode image folders with sharp (RGB, [0,1]) into NHWC batches. */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'

export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

/** [file, classIndex] pairs of an ImageFolder tree, classes mapped by name through `classes`; sorted by class then name. */
export function listImages(root: string, classes: string[], perClass = Infinity): [string, number][] {
  const out: [string, number][] = []
  for (const dir of readdirSync(root).sort()) {
    const label = classes.indexOf(dir)
    if (label < 0) throw new Error(`${root}: folder '${dir}' is not a known class`)
    const files = readdirSync(join(root, dir)).sort().slice(0, perClass)
    for (const f of files) out.push([join(root, dir, f), label])
  }
  return out
}

/** Decode to RGB float32 HWC in [0, 1]. */
export async function decodeRgb(file: string): Promise<{ data: Float32Array; height: number; width: number }> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
  if (info.channels !== 3) throw new Error(`${file}: decoded ${info.channels} channels`)
  const f = new Float32Array(data.length)
  for (let i = 0; i < data.length; i++) f[i] = data[i] / 255
  return { data: f, height: info.height, width: info.width }
}

/** Decode and normalise ((x - mean) / std per channel) a list of same-sized images into one NHWC buffer. */
export async function loadBatch(files: string[], mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]): Promise<{ data: Float32Array; shape: [number, number, number, number] }> {
  const imgs = await Promise.all(files.map(decodeRgb))
  const { height, width } = imgs[0]
  const data = new Float32Array(files.length * height * width * 3)
  imgs.forEach((img, i) => {
    if (img.height !== height || img.width !== width) throw new Error(`${files[i]}: size ${img.width}x${img.height} differs`)
    for (let j = 0; j < img.data.length; j++) data[i * img.data.length + j] = (img.data[j] - mean[j % 3]) / std[j % 3]
  })
  return { data, shape: [files.length, height, width, 3] }
}
