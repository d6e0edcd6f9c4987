/** Export a run's fine-tuned model (or the converted model it started from) as safetensors or a TF.js layers model. */
import { copyFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import type { RunSpec } from '../../../shared/experiments'
import { readSafetensors } from '../io'
import { exportTfjs } from '../io/tfjsExport'
import { loadPretrained, type ArchName } from '../models'
import { loadExperimentSamples } from './experimentData'
import { FINAL_WEIGHTS, INITIAL_WEIGHTS } from './runJob'

export interface ExportRequest {
  spec: RunSpec
  runDir: string
  format: 'safetensors' | 'tfjs'
  /** 'final' = the fine-tuned (best-epoch) weights; 'initial' = where fine-tuning started (e.g. the BN-converted model) */
  which: 'final' | 'initial'
  /** a .safetensors file, or a folder for tfjs */
  out: string
}

export async function exportRun(req: ExportRequest): Promise<{ out: string; format: string; arch: string }> {
  const file = join(req.runDir, req.which === 'final' ? FINAL_WEIGHTS : INITIAL_WEIGHTS)
  if (!existsSync(file)) throw new Error(`${file}: the run has no ${req.which} weights`)
  if (req.format === 'safetensors') {
    copyFileSync(file, req.out) // already PyTorch key names and layouts
    return { out: req.out, format: 'safetensors', arch: req.spec.model.arch ?? 'detected' }
  }
  const data = await loadExperimentSamples(req.spec.data, req.spec.seed)
  const model = await loadPretrained(req.spec.model.path, req.spec.model.arch as ArchName | undefined)
  try {
    model.replaceHead(data.classes.length, 'zero')
    model.loadStateDict(readSafetensors(file).stateDict, { source: file })
    const r = await exportTfjs(model, req.out, { classes: data.classes, method: req.spec.recipe.method, normalize: req.spec.data.normalize, inputSize: req.spec.data.size })
    return { out: r.modelJson, format: 'tfjs', arch: model.arch }
  } finally {
    model.dispose()
  }
}
