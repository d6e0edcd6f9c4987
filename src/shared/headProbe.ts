/**
 * Is the paper's head learning-rate grid safe for this model's features? DAFT starts from a zero head
 * and trains it with eta_w in {10, 3, 1, 0.3, 0.1}, a grid tuned on ResNet-50 features. The logits' step
 * grows with eta_w times the features' scale, so on other backbones (e.g. MobileNetV2's 1,280 ReLU6
 * features) the larger values blow up. The probe (engine/methods/headProbe.ts) measures it: the head alone,
 * zero-initialised, trained with SGD (momentum 0.9, the recipe's batch size) on the model's frozen
 * eval-mode features of the ID training images, for each eta_w; a value "blows up" when the loss becomes
 * non-finite, ends above the zero head's starting loss ln K, or overshoots past 2 ln K on the way (in a real
 * run the overshoot's gradient reaches the backbone). BN conversion leaves the eval-mode features
 * unchanged, so the features are those DAFT's head first sees.
 *
 * The extended grid (a documented deviation from the paper, used only when asked for with
 * `sweep.daftHeadLr: extended`): drop the values that blow up, continue the paper's 1-3 grid downwards
 * until there are as many values as the paper's (5); step 1 runs at the largest of them that is <= 1.0
 * (the paper's 1.0 when it is stable), step 2 at the other four. Pure.
 */
import { logGrid13 } from './recipes'

/** the paper's eta_w values: step 1's fixed 1.0 and step 2's grid */
export const PAPER_HEAD_LRS: readonly number[] = [10, 3, 1, 0.3, 0.1]
/** what the probe tries: the paper's grid continued downwards */
export const PROBE_HEAD_LRS: readonly number[] = logGrid13(10, 1e-4)

export interface HeadProbePoint {
  lr: number
  /** mean loss over the last quarter of the probe's steps */
  finalLoss: number
  /** the highest batch loss on the way */
  maxLoss: number
  blowup: boolean
}

export interface HeadProbeResult {
  images: number
  featureDim: number
  numClasses: number
  /** mean over images of the squared L2 norm of the pooled features */
  meanSqFeatureNorm: number
  steps: number
  batchSize: number
  /** ln K: the zero head's loss */
  startLoss: number
  points: HeadProbePoint[]
}

export interface HeadLrGrid {
  /** eta_w of DAFT sweep step 1 */
  step1: number
  /** eta_w values of step 2 */
  step2: number[]
  /** paper values the probe saw blow up */
  unstable: number[]
  /** true when the grid differs from the paper's */
  deviates: boolean
  /** one sentence for the user and the experiment's record */
  note: string
}

const fmt = (xs: readonly number[]): string => `{${xs.join(', ')}}`

/** The paper's grid when every value is stable, else the extended one (see the file comment). */
export function extendedHeadGrid(probe: HeadProbeResult): HeadLrGrid {
  const stable = new Map(probe.points.map((p) => [p.lr, !p.blowup]))
  const unstable = PAPER_HEAD_LRS.filter((lr) => stable.get(lr) === false)
  if (!unstable.length) {
    return { step1: 1, step2: [10, 3, 0.3, 0.1], unstable: [], deviates: false, note: `every eta_w of the paper's grid ${fmt(PAPER_HEAD_LRS)} trains the zero head without blowing up on this model's features` }
  }
  const lowestUnstable = Math.min(...probe.points.filter((p) => p.blowup).map((p) => p.lr))
  const candidates = [...probe.points]
    .filter((p) => !p.blowup && p.lr < lowestUnstable)
    .map((p) => p.lr)
    .sort((a, b) => b - a)
    .slice(0, PAPER_HEAD_LRS.length)
  if (!candidates.length) {
    return {
      step1: 1,
      step2: [10, 3, 0.3, 0.1],
      unstable,
      deviates: false,
      note: `every eta_w the probe tried (down to ${Math.min(...probe.points.map((p) => p.lr))}) blows up on this model's features: keeping the paper's grid; expect diverged runs`,
    }
  }
  const step1 = candidates.find((lr) => lr <= 1) ?? candidates[candidates.length - 1]
  const step2 = candidates.filter((lr) => lr !== step1)
  return {
    step1,
    step2,
    unstable,
    deviates: true,
    note:
      `eta_w ${fmt(unstable)} of the paper's grid blow up on this model's features (mean squared feature norm ${probe.meanSqFeatureNorm.toFixed(1)}, ${probe.featureDim} features): ` +
      `extended grid, step 1 at eta_w = ${step1}, step 2 over ${fmt(step2)} (a deviation from the paper's protocol)`,
  }
}

/** Where a DAFT sweep's head rates come from: the paper's grid, or the probe's extended grid. */
export type HeadLrMode = 'paper' | 'extended'

/** The probe's result as lines for the CLI and the sweep form. */
export function headProbeLines(r: HeadProbeResult, g: HeadLrGrid, mode: HeadLrMode): string[] {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x))
  const pts = r.points.map((p) => `${p.lr}: ${p.blowup ? 'BLOWS UP' : 'ok'} (loss ${f(p.finalLoss)}, peak ${f(p.maxLoss)})`)
  const lines = [
    `DAFT head-rate probe on ${r.images} training images (${r.featureDim} features, mean squared norm ${r.meanSqFeatureNorm.toFixed(1)}; zero head, SGD momentum 0.9, batch ${r.batchSize}, ${r.steps} steps; start loss ln ${r.numClasses} = ${r.startLoss.toFixed(3)}):`,
    `  eta_w ${pts.join(', ')}`,
    `  ${g.note}`,
  ]
  if (g.deviates && mode !== 'extended') lines.push(`  the sweep keeps the paper's grid as asked; set sweep.daftHeadLr: extended to use eta_w = ${g.step1} then {${g.step2.join(', ')}}`)
  if (g.deviates && mode === 'extended') lines.push('  using the extended grid (sweep.daftHeadLr: extended)')
  return lines
}
