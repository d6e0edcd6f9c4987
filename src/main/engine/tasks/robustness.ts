/**
 * Corruption robustness of a fine-tuned run (paper Table 4): the 15 corruptions of Hendrycks & Dietterich
 * at 5 severities, generated in code from the ID test set, error per corruption and severity, CE = mean error
 * over the 5 severities, mCE = mean CE over the 15 (unnormalised).
 *
 * Each test image is corrupted at its OWN resolution, not at the working size: decoded with its short side
 * capped at 256 (decodeForCorruption), corrupted there with the constants of its size's family (CIFAR-10-C's
 * for a short side <= 90 px, ImageNet-C's above; see analysis/corruptions.ts), THEN resized to the working
 * size S x S (bilinear) and normalised. The clean error is measured on the same decoded images resized the
 * same way. The report says which family and sizes were used (frost's texture is procedural: see
 * analysis/corruptions.ts).
 */
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { RunSpec } from '../../../shared/experiments'
import type { RobustnessReport } from '../../../shared/types'
import { resolveNormalize } from '../../../shared/datasets'
import {
  CIFAR_FAMILY_MAX_SHORT_SIDE, CORRUPTIONS, CORRUPTION_MAX_SHORT_SIDE, SEVERITIES, corruptThenResize, corruptionError, corruptionFamily, corruptionSize, mCE,
  resizeRgb, type CorruptionFamily, type RgbImage,
} from '../analysis/corruptions'
import { decodeImage, probeImage } from '../data/decode'
import { readSafetensors } from '../io'
import { loadPretrained, type ArchName } from '../models'
import { loadExperimentSamples, stratifiedSubset } from './experimentData'
import { FINAL_WEIGHTS } from '../protocol'

/** Decode a file at the size it is corrupted at: its own, or its short side resized to 256 while decoding. */
export async function decodeForCorruption(path: string): Promise<RgbImage> {
  const head = await probeImage(path)
  const [w, h] = corruptionSize(head.width, head.height)
  const img = await decodeImage(path, w === head.width && h === head.height ? {} : { size: [h, w] })
  return { data: img.data, width: img.width, height: img.height }
}

/** Which family the images used ('mixed' when both) and their sizes, most frequent first (at most `top`). */
export function describeCorruptionSizes(images: readonly { width: number; height: number }[], top = 5): { family: CorruptionFamily | 'mixed'; corruptedAt: { width: number; height: number; images: number }[]; more: number } {
  const families = new Set(images.map((im) => corruptionFamily(im.width, im.height)))
  const counts = new Map<string, { width: number; height: number; images: number }>()
  for (const { width, height } of images) {
    const k = `${width}x${height}`
    const e = counts.get(k) ?? { width, height, images: 0 }
    e.images++
    counts.set(k, e)
  }
  const sorted = [...counts.values()].sort((a, b) => b.images - a.images || a.width * a.height - b.width * b.height)
  return { family: families.size === 1 ? [...families][0] : 'mixed', corruptedAt: sorted.slice(0, top), more: Math.max(0, sorted.length - top) }
}

const FAMILY_TEXT: Record<CorruptionFamily | 'mixed', string> = {
  cifar: 'CIFAR-10-C constants',
  imagenet: 'ImageNet-C constants',
  mixed: `CIFAR-10-C constants for images with a short side <= ${CIFAR_FAMILY_MAX_SHORT_SIDE} px and ImageNet-C constants for larger ones`,
}

export async function runRobustness(req: { runId: number; spec: RunSpec; runDir: string; limit?: number; onProgress?: (done: number, total: number) => void }): Promise<RobustnessReport> {
  const t0 = performance.now()
  const { spec } = req
  const data = await loadExperimentSamples(spec.data, spec.seed)
  const pool = data.test.length ? data.test : data.val
  const samples = stratifiedSubset(pool, req.limit ?? 500, spec.seed)
  const S = spec.data.size
  const size = { width: S, height: S }
  /** decoded at the corruption size (own size, short side <= 256) */
  const images: RgbImage[] = []
  const labels: number[] = []
  for (const s of samples) {
    try {
      images.push(await decodeForCorruption(s.path))
      labels.push(s.label)
    } catch {
      // unreadable files were reported at import; they are left out here too
    }
  }
  if (!images.length) throw new Error(`run ${req.runId}: no readable ID test images for the robustness evaluation`)
  const model = await loadPretrained(spec.model.path, spec.model.arch as ArchName | undefined)
  model.replaceHead(data.classes.length, 'zero')
  const file = join(req.runDir, FINAL_WEIGHTS)
  model.loadStateDict(readSafetensors(file).stateDict, { source: file })
  const { mean, std } = resolveNormalize({ preset: spec.data.normalize })
  const errorOf = (imgs: RgbImage[]): number => {
    let wrong = 0
    for (let b = 0; b < imgs.length; b += 64) {
      const chunk = imgs.slice(b, b + 64)
      const buf = new Float32Array(chunk.length * S * S * 3)
      chunk.forEach((im, i) => {
        for (let p = 0; p < S * S * 3; p++) buf[i * S * S * 3 + p] = (im.data[p] / 255 - mean[p % 3]) / std[p % 3]
      })
      const x = tf.tensor4d(buf, [chunk.length, S, S, 3])
      const logits = model.forward(x, 'eval')
      const pred = tf.argMax(logits, 1)
      const p = pred.dataSync()
      tf.dispose([x, logits, pred])
      chunk.forEach((_, i) => {
        if (p[i] !== labels[b + i]) wrong++
      })
    }
    return wrong / imgs.length
  }
  try {
    const clean: RgbImage[] = []
    for (const im of images) clean.push(await resizeRgb(im, S, S))
    const cleanError = errorOf(clean)
    const errors: Record<string, number[]> = {}
    const total = CORRUPTIONS.length * SEVERITIES.length
    let done = 0
    for (const name of CORRUPTIONS) {
      errors[name] = []
      for (const severity of SEVERITIES) {
        const corrupted: RgbImage[] = []
        for (const [i, im] of images.entries()) corrupted.push((await corruptThenResize(im, name, severity, [spec.seed, i], size)).image)
        errors[name].push(errorOf(corrupted))
        req.onProgress?.(++done, total)
      }
    }
    const m = mCE(errors)
    const { family, corruptedAt, more } = describeCorruptionSizes(images)
    const sizes = corruptedAt.map((c) => `${c.width}x${c.height}${corruptedAt.length > 1 || more ? ` (${c.images})` : ''}`).join(', ') + (more ? ` and ${more} other sizes` : '')
    return {
      runId: req.runId,
      images: images.length,
      cleanError,
      corruptions: CORRUPTIONS.map((name) => ({ name, errors: errors[name], ce: corruptionError(errors[name]) })),
      mCE: m.mCE,
      seconds: (performance.now() - t0) / 1000,
      family,
      corruptedAt,
      workingSize: S,
      note:
        `Corruptions generated in code from the ID test set at each image's own resolution (${sizes}; short side capped at ${CORRUPTION_MAX_SHORT_SIDE}) ` +
        `with ${FAMILY_TEXT[family]}, then resized to the working size ${S}x${S}; frost uses a procedural texture; JPEG re-encodes with sharp. CE and mCE are unnormalised errors.`,
    }
  } finally {
    model.dispose()
  }
}
