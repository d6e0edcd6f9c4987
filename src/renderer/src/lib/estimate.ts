import type { ExperimentSpec, SweepSpec } from '../../../shared/experiments'
import { SWEEPS } from '../../../shared/recipes'

/**
 * Head learning rates DAFT sweep step 2 runs at the best eta_theta (services/experiments.ts advanceSweep):
 * daftHeadLr (default the paper's 10, 3, 0.3, 0.1) without step 1's eta_w, whose result stands for it;
 * none when DAFT's eta_theta is not swept.
 */
export function daftStep2Rates(sweep: SweepSpec | undefined): number[] {
  if (!sweep?.lr.DAFT?.length) return []
  const step1 = sweep.daftStep1HeadLr ?? SWEEPS.DAFT_STEP1_HEAD_LR
  return (sweep.daftHeadLr ?? [...SWEEPS['DAFT-step2']]).filter((h) => h !== step1)
}

/** How many runs `experiments.create` queues for a spec: sweep runs (one seed) plus final runs (every seed). */
export function countRuns(spec: Pick<ExperimentSpec, 'methods' | 'seeds' | 'sweep'>): { sweep: number; final: number; total: number } {
  let sweep = 0
  for (const r of spec.methods) {
    if (r.method === 'custom' || !r.trainBackbone) continue
    sweep += spec.sweep?.lr[r.method]?.length ?? 0
    if (r.method === 'DAFT') sweep += daftStep2Rates(spec.sweep).length
  }
  const final = spec.methods.length * spec.seeds.length
  return { sweep, final, total: sweep + final }
}

/**
 * Rough wall time of an experiment from a measured training throughput (images/s):
 * a trained run costs epochs x (train / ips + eval / (3 ips)) (a forward pass costs about a third of a
 * training step); a linear probe costs one forward pass over train and eval. LP fitting itself is ignored.
 * Returns null when no throughput was measured yet.
 */
export function estimateSeconds(
  spec: Pick<ExperimentSpec, 'methods' | 'seeds' | 'sweep'>,
  images: { train: number; eval: number },
  imagesPerSec: number | null,
): number | null {
  if (!imagesPerSec || !(imagesPerSec > 0)) return null
  const ips = imagesPerSec
  const forward = (images.train + images.eval) / (3 * ips)
  let total = 0
  for (const r of spec.methods) {
    const oneRun = r.trainBackbone ? r.epochs * (images.train / ips + images.eval / (3 * ips)) + (r.headInit === 'lp' ? forward : 0) : forward
    let runs = spec.seeds.length
    if (r.method !== 'custom' && r.trainBackbone) {
      runs += spec.sweep?.lr[r.method]?.length ?? 0
      if (r.method === 'DAFT') runs += daftStep2Rates(spec.sweep).length
    }
    total += runs * oneRun
  }
  return total
}

/** Median of positive throughput samples, null when there are none. */
export function medianThroughput(samples: readonly number[]): number | null {
  const s = samples.filter((x) => Number.isFinite(x) && x > 0).sort((a, b) => a - b)
  if (!s.length) return null
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
