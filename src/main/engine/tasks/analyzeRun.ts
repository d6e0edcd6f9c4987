/**
 * Feature-distortion analysis of a finished run, in the engine process (paper Figs. 1, 2, 6-9):
 * per eval set the per-image cosine similarity / L2 distance of penultimate features of the pretrained
 * model vs the fine-tuned one, the per-layer relative change against the start of fine-tuning and
 * against the pretrained checkpoint, and the domain-shift meter of every eval set.
 * "predBefore" is the prediction of the model as fine-tuning began (LP head for LP / LP-FT; the random or
 * zero head for FT / DAFT, so it is only informative with an LP head).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { RunSpec } from '../../../shared/experiments'
import type { SetShift, SetSimilarity } from '../../../shared/types'
import { readSafetensors } from '../io'
import { loadPretrained, type ArchName, type BNNet } from '../models'
import { compareFeatures, featureAgreement, similaritySummary } from '../analysis/featureSimilarity'
import { relativeChange } from '../analysis/relativeChange'
import { domainShift } from '../analysis/domainShift'
import { targetStatistics } from '../methods/convertBatchNorm'
import { evaluate } from '../train/evaluate'
import { evalLoader, loadExperimentSamples } from './experimentData'
import { FINAL_WEIGHTS, INITIAL_WEIGHTS, type AnalyzeResult, type AnalyzedImages } from '../protocol'

export type { AnalyzeResult, AnalyzedImages }

/** pretrained vs BN-converted features must agree to this relative error (eval function unchanged) */
const CONVERTED_TOLERANCE = 1e-4



async function modelWithWeights(spec: RunSpec, file: string, K: number): Promise<BNNet> {
  const model = await loadPretrained(spec.model.path, spec.model.arch as ArchName | undefined)
  model.replaceHead(K, 'zero')
  model.loadStateDict(readSafetensors(file).stateDict, { source: file })
  return model
}

export async function analyzeRun(req: { runId: number; spec: RunSpec; runDir: string; cacheDir: string; workers?: number; onProgress?: (what: string) => void }): Promise<AnalyzeResult> {
  const t0 = performance.now()
  const { spec, runDir } = req
  const finalFile = join(runDir, FINAL_WEIGHTS)
  const initialFile = join(runDir, INITIAL_WEIGHTS)
  if (!existsSync(finalFile)) throw new Error(`${finalFile}: run ${req.runId} has no final weights (did it finish?)`)
  const data = await loadExperimentSamples(spec.data, spec.seed)
  const K = data.classes.length
  const pretrained = await loadPretrained(spec.model.path, spec.model.arch as ArchName | undefined)
  const after = await modelWithWeights(spec, finalFile, K)
  const initial = existsSync(initialFile) ? await modelWithWeights(spec, initialFile, K) : null
  const batch = 64
  const sets = [...(data.test.length ? [{ name: 'id-test', samples: data.test }] : [{ name: 'id-val', samples: data.val }]), ...data.ood.map((o) => ({ name: o.name, samples: o.samples }))]
  const similarity: SetSimilarity[] = []
  const shift: SetShift[] = []
  const images: AnalyzedImages[] = []
  try {
    for (const set of sets) {
      req.onProgress?.(`features: ${set.name}`)
      const l = evalLoader(set.samples, spec.data, batch, req.cacheDir, req.workers)
      try {
        const cmp = await compareFeatures(pretrained, after, l.batches(), { disposeBatches: true })
        const summary = similaritySummary(cmp)
        let predBefore = cmp.predBefore
        let convertedCheck: SetSimilarity['convertedCheck']
        if (initial && spec.recipe.bnConversion) {
          // one pass gives both the feature check (pretrained vs converted) and the start-of-fine-tuning predictions
          const start = await compareFeatures(pretrained, initial, l.batches(), { disposeBatches: true })
          predBefore = start.predAfter
          const c = featureAgreement(start.before, start.after, start.dim)
          convertedCheck = { maxRelError: c.maxRelError, minCosine: c.minCosine, ok: c.maxRelError < CONVERTED_TOLERANCE }
        } else if (initial) {
          predBefore = (await evaluate(initial, l.batches())).predictions
        }
        let correctBefore = 0
        let correctAfter = 0
        for (let i = 0; i < cmp.n; i++) {
          if (predBefore[i] === cmp.label[i]) correctBefore++
          if (cmp.predAfter[i] === cmp.label[i]) correctAfter++
        }
        similarity.push({
          set: set.name,
          n: cmp.n,
          cosine: strip(summary.cosine),
          l2: strip(summary.l2),
          accuracyBefore: correctBefore / Math.max(1, cmp.n),
          accuracyAfter: correctAfter / Math.max(1, cmp.n),
          convertedCheck,
        })
        images.push({ set: set.name, path: Array.from(cmp.index, (i) => set.samples[i].path), label: cmp.label, cosine: cmp.cosine, l2: cmp.l2, predBefore, predAfter: cmp.predAfter })
        req.onProgress?.(`domain shift: ${set.name}`)
        const stats = await targetStatistics(pretrained, l.batches(), { disposeBatches: true })
        const r = domainShift(stats.layers)
        shift.push({ set: set.name, images: stats.samples, meanShift: r.meanShift, varShift: r.varShift, score: r.combined, verdict: r.text, layers: r.layers.map(({ name, stage, meanShift, varShift }) => ({ name, stage, meanShift, varShift })) })
      } finally {
        await l.loader.close()
      }
    }
    const finalSd = readSafetensors(finalFile).stateDict
    const start = initial ? relativeChange(readSafetensors(initialFile).stateDict, finalSd, after, { source: initialFile }) : []
    const fromPretrained = relativeChange(pretrained.stateDict(), finalSd, after, { source: spec.model.path })
    const rows = (rs: typeof start) => rs.map((r) => ({ name: r.name, layer: r.layer, kind: r.kind, stage: r.stage, value: r.value }))
    return {
      analysis: { runId: req.runId, method: spec.recipe.label ?? spec.recipe.method, sets: similarity, relativeChange: { start: rows(start), pretrained: rows(fromPretrained) }, shift, seconds: (performance.now() - t0) / 1000 },
      images,
      classes: data.classes,
    }
  } finally {
    pretrained.dispose()
    after.dispose()
    initial?.dispose()
  }
}

function strip(s: { count: number; mean: number; std: number; min: number; max: number; histogram: { edges: number[]; counts: number[] } }) {
  return { count: s.count, mean: s.mean, std: s.std, min: s.min, max: s.max, histogram: { edges: s.histogram.edges, counts: s.histogram.counts } }
}
