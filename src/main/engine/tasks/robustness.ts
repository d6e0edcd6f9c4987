/**
 * Corruption robustness of a fine-tuned run (paper Table 4): the 15 corruptions of Hendrycks & Dietterich
 * at 5 severities, generated in code from the ID test set (frost's texture is procedural: see
 * analysis/corruptions.ts), error per corruption and severity, CE = mean error over the 5 severities,
 * mCE = mean CE over the 15 (unnormalised).
 */
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { RunSpec } from '../../../shared/experiments'
import type { RobustnessReport } from '../../../shared/types'
import { resolveNormalize } from '../../../shared/datasets'
import { CORRUPTIONS, SEVERITIES, corrupt, corruptionError, mCE, type RgbImage } from '../analysis/corruptions'
import { decodeImage } from '../data/decode'
import { readSafetensors } from '../io'
import { loadPretrained, type ArchName } from '../models'
import { loadExperimentSamples, stratifiedSubset } from './experimentData'
import { FINAL_WEIGHTS } from './runJob'

export async function runRobustness(req: { runId: number; spec: RunSpec; runDir: string; limit?: number; onProgress?: (done: number, total: number) => void }): Promise<RobustnessReport> {
  const t0 = performance.now()
  const { spec } = req
  const data = await loadExperimentSamples(spec.data, spec.seed)
  const pool = data.test.length ? data.test : data.val
  const samples = stratifiedSubset(pool, req.limit ?? 500, spec.seed)
  const S = spec.data.size
  const images: RgbImage[] = []
  const labels: number[] = []
  for (const s of samples) {
    try {
      const img = await decodeImage(s.path, { size: [S, S] })
      images.push({ data: img.data, width: img.width, height: img.height })
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
    const cleanError = errorOf(images)
    const errors: Record<string, number[]> = {}
    const total = CORRUPTIONS.length * SEVERITIES.length
    let done = 0
    for (const name of CORRUPTIONS) {
      errors[name] = []
      for (const severity of SEVERITIES) {
        const corrupted = await Promise.all(images.map((im, i) => corrupt(im, name, severity, [spec.seed, i])))
        errors[name].push(errorOf(corrupted))
        req.onProgress?.(++done, total)
      }
    }
    const m = mCE(errors)
    return {
      runId: req.runId,
      images: images.length,
      cleanError,
      corruptions: CORRUPTIONS.map((name) => ({ name, errors: errors[name], ce: corruptionError(errors[name]) })),
      mCE: m.mCE,
      seconds: (performance.now() - t0) / 1000,
      note: 'Corruptions generated in code from the ID test set at the working resolution (reference CIFAR-10-C constants); frost uses a procedural texture; JPEG re-encodes with sharp. CE and mCE are unnormalised errors.',
    }
  } finally {
    model.dispose()
  }
}
