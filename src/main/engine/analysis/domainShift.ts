/**
 * How far a target dataset lies from the pretrained model's source domain, read from the BN layers
 * (the quantities DAFT's BN conversion uses). Per BN layer, with source running statistics M_s, Sigma_s
 * and target statistics M_t, Sigma_t (Algorithm 1):
 *   meanShift = mean_c |M_t - M_s| / sqrt(Sigma_s + eps)                (in source standard deviations)
 *   varShift  = mean_c |log((Sigma_t + eps) / (Sigma_s + eps))|         (= 2 |log(gamma_t / gamma_s)| of Eq. 5)
 *   combined  = (meanShift + varShift) / 2
 * The eps inside the log guards zero variances (dead channels give 0). Overall scores are means over layers.
 *
 * The statistics come from `targetStatistics` (methods/convertBatchNorm.ts): Algorithm 1's pass, without
 * rewriting the model.
 */
import type { BNConversionLayer } from '../methods/convertBatchNorm'

/** Source and target statistics of one BN layer (what convertBatchNorm returns, plus eps when known). */
export interface BNStatistics extends BNConversionLayer {
  /** the layer's epsilon (PyTorch 1e-5, Keras 1e-3); default 1e-5 */
  eps?: number
}

export interface LayerShift {
  name: string
  stage: string
  meanShift: number
  varShift: number
  combined: number
}

export type ShiftVerdict = 'near' | 'moderate' | 'far'

export interface DomainShiftThresholds {
  /** combined score below this: 'near' */
  near: number
  /** combined score at or above this: 'far' */
  far: number
}

/**
 * Calibrated on resnet20 (CIFAR-10 pretrained, Idelbayev) with scripts/bench-analysis.ts: 1000 images per set
 * (100 per class), resized to 32x32, ImageNet mean/std, batches of 128, eval pipeline (no augmentation):
 *   set                  meanShift varShift combined
 *   cifar10-jpeg/test      0.103    0.208    0.155
 *   cifar10-jpeg/train     0.100    0.201    0.151
 *   digits/mnist_m/test    0.108    0.187    0.147
 *   digits/usps/test       0.219    0.433    0.326
 *   digits/mnist/test      0.273    0.444    0.358
 * The in-domain floor is not 0: the checkpoint's running statistics were collected on random crops with
 * 4-pixel zero padding, which adds variance the un-augmented eval images lack (with the training augmentation
 * CIFAR test drops to 0.092). MNIST-M (digits pasted on natural-image patches) is as close as CIFAR itself
 * to resnet20's BN statistics; grey MNIST and USPS are far.
 */
export const DEFAULT_SHIFT_THRESHOLDS: DomainShiftThresholds = { near: 0.2, far: 0.3 }

export interface DomainShiftReport {
  layers: LayerShift[]
  meanShift: number
  varShift: number
  combined: number
  verdict: ShiftVerdict
  /** one sentence for the UI */
  text: string
  thresholds: DomainShiftThresholds
}

/** Per layer scores (pure). */
export function layerShifts(layers: BNStatistics[], defaultEps = 1e-5): LayerShift[] {
  return layers.map((l) => {
    const C = l.Ms.length
    if (C === 0 || l.Ss.length !== C || l.Mt.length !== C || l.St.length !== C) {
      throw new Error(`domainShift: layer ${l.name}: statistics have different lengths (Ms ${l.Ms.length}, Ss ${l.Ss.length}, Mt ${l.Mt.length}, St ${l.St.length})`)
    }
    const eps = l.eps ?? defaultEps
    let m = 0
    let v = 0
    for (let c = 0; c < C; c++) {
      const ss = Math.max(l.Ss[c], 0) + eps
      const st = Math.max(l.St[c], 0) + eps
      m += Math.abs(l.Mt[c] - l.Ms[c]) / Math.sqrt(ss)
      v += Math.abs(Math.log(st / ss))
    }
    if (!Number.isFinite(m) || !Number.isFinite(v)) throw new Error(`domainShift: layer ${l.name}: non-finite statistics`)
    const meanShift = m / C
    const varShift = v / C
    return { name: l.name, stage: l.stage, meanShift, varShift, combined: (meanShift + varShift) / 2 }
  })
}

export function shiftVerdict(combined: number, t: DomainShiftThresholds = DEFAULT_SHIFT_THRESHOLDS): ShiftVerdict {
  return combined < t.near ? 'near' : combined >= t.far ? 'far' : 'moderate'
}

/** Per layer and overall scores plus a verdict. */
export function domainShift(layers: BNStatistics[], opts: { thresholds?: DomainShiftThresholds; eps?: number } = {}): DomainShiftReport {
  if (layers.length === 0) throw new Error('domainShift: no BN layers')
  const thresholds = opts.thresholds ?? DEFAULT_SHIFT_THRESHOLDS
  const per = layerShifts(layers, opts.eps)
  const mean = (f: (l: LayerShift) => number): number => per.reduce((s, l) => s + f(l), 0) / per.length
  const meanShift = mean((l) => l.meanShift)
  const varShift = mean((l) => l.varShift)
  const combined = mean((l) => l.combined)
  const verdict = shiftVerdict(combined, thresholds)
  const worst = per.reduce((a, b) => (b.combined > a.combined ? b : a))
  const lead = {
    near: 'Near the source domain: the BN statistics barely move',
    moderate: 'Moderate domain shift: BN conversion will adjust the statistics noticeably',
    far: 'Far from the source domain: large BN statistic shifts, fine-tuning will distort pretrained features most here',
  }[verdict]
  const text = `${lead} (shift score ${combined.toFixed(3)}; mean shift ${meanShift.toFixed(3)} source std, variance log-ratio ${varShift.toFixed(3)}; largest at ${worst.name}, ${worst.stage}).`
  return { layers: per, meanShift, varShift, combined, verdict, text, thresholds }
}

export { targetStatistics, type TargetStatisticsResult } from '../methods/convertBatchNorm'
