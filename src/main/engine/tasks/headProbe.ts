/**
 * Engine task: probe DAFT's head learning rates on an experiment's model and ID training images
 * (methods/headProbe.ts does the math; shared/headProbe.ts decides the grid). Features are the pretrained
 * network's eval-mode pooled features of up to `limit` un-augmented training images, taken with the
 * experiment's split seed, i.e. what DAFT's zero head sees at its first step (BN conversion does not
 * change eval-mode features).
 */
import { PROBE_HEAD_LRS, type HeadProbeResult } from '../../../shared/headProbe'
import type { HeadProbeRequest } from '../protocol'

export type { HeadProbeRequest }
import { loadPretrained, type ArchName } from '../models'
import { extractFeatures } from '../train/evaluate'
import { probeHeadLearningRates } from '../methods/headProbe'
import { evalLoader, loadExperimentSamples, stratifiedSubset } from './experimentData'


export async function runHeadProbe(req: HeadProbeRequest): Promise<HeadProbeResult> {
  const { spec } = req
  const daft = spec.methods.find((m) => m.method === 'DAFT') ?? spec.methods[0]
  const seed = spec.data.splitSeed ?? spec.sweep?.sweepSeed ?? 0
  const data = await loadExperimentSamples(spec.data, seed)
  const samples = stratifiedSubset(data.train, req.limit ?? 1000, seed)
  const model = await loadPretrained(spec.model.path, spec.model.arch as ArchName | undefined)
  const loader = evalLoader(samples, spec.data, 64, req.cacheDir, 0)
  try {
    const f = await extractFeatures(model, loader.batches())
    return probeHeadLearningRates({ X: f.features, y: f.labels, n: f.n, d: f.d }, data.classes.length, {
      lrs: req.lrs ?? PROBE_HEAD_LRS,
      batchSize: daft?.batchSize ?? 64,
      momentum: daft?.momentum ?? 0.9,
      seed,
    })
  } finally {
    model.dispose()
    await loader.loader.close()
  }
}
