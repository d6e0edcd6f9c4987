/**
 * Run health: the checks that keep a run that went wrong from finishing as a plain "succeeded".
 * Pure (shared by the engine, which computes it when a run ends, the store, the CLI and the UI).
 *
 * | code              | severity | when                                                                         |
 * |-------------------|----------|------------------------------------------------------------------------------|
 * | diverged          | error    | the loss became NaN or infinite (training stopped)                           |
 * | loss-blowup       | error    | the smoothed batch loss rose above max(10 x, +2 ln K) of the first steps'    |
 * |                   | warning  | ... above max(3 x, + 0.5 ln K) of the first steps' loss                      |
 * | eval-below-train  | warning  | BN in train mode: ID val far below train accuracy and collapsing (falling    |
 * |                   |          | from its own best, or near chance) while training accuracy holds             |
 * | worse-than-start  | warning  | the start (an LP head, a converted network) beat every trained epoch on ID val |
 * | near-chance       | warning  | the reported ID val accuracy is at chance level                              |
 *
 * Each warning names the likely cause and the recipe field to turn. Runs with an 'error' lose sweep
 * selections (services/experiments.ts).
 */
import type { Recipe } from './recipes'

export type HealthCode = 'diverged' | 'loss-blowup' | 'eval-below-train' | 'worse-than-start' | 'near-chance'
export type HealthSeverity = 'error' | 'warning'

export interface HealthWarning {
  code: HealthCode
  severity: HealthSeverity
  /** what was measured, with the numbers */
  message: string
  /** the likely cause */
  cause: string
  /** what to change (recipe field and value) */
  knob: string
}

export interface RunHealth {
  /** no warnings */
  ok: boolean
  warnings: HealthWarning[]
}

export interface HealthEpoch {
  /** 0-based; -1 = the starting point */
  epoch: number
  trainAccuracy: number | null
  /** ID val accuracy (null without an ID val set) */
  valAccuracy: number | null
}

export interface HealthInput {
  recipe: Pick<Recipe, 'method' | 'headInit' | 'bnMode' | 'lr' | 'earlyStopping' | 'trainBackbone'> & { bnMomentum?: Recipe['bnMomentum'] }
  numClasses: number
  /** every training step's batch loss, in order */
  losses: number[]
  /** evaluated epochs in order, the start (-1) first when it was evaluated */
  epochs: HealthEpoch[]
  /** the epoch whose weights the run reports (-1 = the start) */
  bestEpoch: number | null
  /** the non-finite loss that stopped training */
  diverged?: { epoch: number; batch: number; loss: number } | null
  /** BN momentum the run trained with (PyTorch convention), one entry per distinct value */
  bnMomentum?: { momentum: number; layers: number }[]
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`
const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3))

/** Display name of an epoch: the start is "epoch 0 (start)", trained epochs count from 1. */
export function epochLabel(epoch: number): string {
  return epoch < 0 ? 'epoch 0 (start)' : `epoch ${epoch + 1}`
}

function lrAdvice(r: HealthInput['recipe']): { cause: string; knob: string } {
  const { backbone, head } = r.lr
  if (r.headInit !== 'random' && head > backbone) {
    return {
      cause: `the head learning rate eta_w = ${head} is too large for this model's features (the logits' step grows with eta_w times the squared feature norm)`,
      knob: `lower lr.head (try ${num(head / 10)}), or sweep it with the extended eta_w grid (sweep.daftHeadLr: extended)`,
    }
  }
  if (r.headInit === 'lp' && r.bnMode === 'frozen') {
    return {
      cause: `the learning rate ${backbone} is too high for LP-FT: the fitted head's confident logits push large gradients into the backbone`,
      knob: `lower lr (try ${num(backbone / 10)}; the paper's LP-FT grid is 1e-4 and below)`,
    }
  }
  return { cause: `the learning rate (${backbone === head ? backbone : `${backbone} / ${head}`}) is too high for this model and batch size`, knob: `lower lr (try ${num(backbone / 10)})` }
}

function movingAverage(xs: number[], w: number): number[] {
  const out: number[] = []
  let s = 0
  for (let i = 0; i < xs.length; i++) {
    s += xs[i]
    if (i >= w) s -= xs[i - w]
    if (i >= w - 1) out.push(s / w)
  }
  return out
}

/** The loss blow-up check alone: null when the losses stay in bounds. */
export function lossBlowup(losses: number[], numClasses: number): { severity: HealthSeverity; baseline: number; peak: number; step: number; window: number } | null {
  const finite = losses.filter((l) => Number.isFinite(l))
  if (finite.length < 8) return null
  // the start: the lowest of the first 3 steps (a blow-up can begin at step 2: LP-FT from a confident LP head,
  // a zero head whose first update overshoots)
  const first = Math.min(3, Math.floor(finite.length / 4))
  const baseline = Math.min(...finite.slice(0, first))
  const w = Math.max(3, Math.min(20, Math.round(finite.length / 20)))
  const smooth = movingAverage(finite.slice(first), w)
  let peak = -Infinity
  let at = 0
  smooth.forEach((v, i) => {
    if (v > peak) {
      peak = v
      at = i + first + w - 1
    }
  })
  const lnK = Math.log(Math.max(2, numClasses))
  if (peak > Math.max(10 * baseline, baseline + 2 * lnK)) return { severity: 'error', baseline, peak, step: at, window: w }
  if (peak > Math.max(3 * baseline, baseline + 0.5 * lnK)) return { severity: 'warning', baseline, peak, step: at, window: w }
  return null
}

export function assessRun(h: HealthInput): RunHealth {
  const warnings: HealthWarning[] = []
  const K = Math.max(2, h.numClasses)
  const chance = 1 / K
  if (h.diverged) {
    const { cause, knob } = lrAdvice(h.recipe)
    warnings.push({
      code: 'diverged',
      severity: 'error',
      message: `the loss became ${h.diverged.loss} at ${epochLabel(h.diverged.epoch)}, batch ${h.diverged.batch + 1}: training stopped`,
      cause,
      knob,
    })
  }
  const blow = h.recipe.trainBackbone ? lossBlowup(h.losses, K) : null
  if (blow) {
    const { cause, knob } = lrAdvice(h.recipe)
    warnings.push({
      code: 'loss-blowup',
      severity: blow.severity,
      message: `the batch loss rose from ${num(blow.baseline)} (first steps) to ${num(blow.peak)} (moving average of ${blow.window} steps, at step ${blow.step + 1}); chance level is ln ${K} = ${Math.log(K).toFixed(2)}`,
      cause,
      knob,
    })
  }
  const trained = h.epochs.filter((e) => e.epoch >= 0)
  if (h.recipe.bnMode === 'train') {
    let maxVal = -1
    for (const e of trained) {
      if (e.trainAccuracy === null || e.valAccuracy === null) continue
      const gap = e.trainAccuracy - e.valAccuracy
      const collapsing = e.valAccuracy < maxVal - 0.15 || e.valAccuracy < Math.min(1.5 * chance, 0.5 * e.trainAccuracy)
      if (gap > 0.3 && collapsing) {
        const momenta = h.bnMomentum ?? []
        const slow = momenta.filter((m) => m.momentum < 0.01)
        const cause = slow.length
          ? `BN running statistics barely move (momentum ${slow.map((m) => m.momentum).join(', ')} on ${slow.reduce((s, m) => s + m.layers, 0)} layers, PyTorch convention: a Keras checkpoint's 0.999 is 0.001 here) while the weights do, so the eval-mode network drifts from the trained one`
          : 'in train-mode BN the eval-mode network (running statistics) differs from the trained one (batch statistics): running statistics lag fast-changing weights, or batches are too small for stable statistics'
        warnings.push({
          code: 'eval-below-train',
          severity: 'warning',
          message: `${epochLabel(e.epoch)}: ID val ${pct(e.valAccuracy)} against training accuracy ${pct(e.trainAccuracy)}${maxVal >= 0 ? ` (best ID val so far ${pct(maxVal)})` : ''}`,
          cause,
          knob: slow.length ? "set bnMomentum to 0.1 (the paper's PyTorch setting)" : 'lower the learning rate, raise batchSize, or raise bnMomentum',
        })
        break
      }
      maxVal = Math.max(maxVal, e.valAccuracy)
    }
  }
  const start = h.epochs.find((e) => e.epoch < 0)
  const bestTrained = trained.filter((e) => e.valAccuracy !== null).sort((a, b) => (b.valAccuracy as number) - (a.valAccuracy as number))[0]
  if (start?.valAccuracy != null && bestTrained && (bestTrained.valAccuracy as number) < start.valAccuracy) {
    const { cause, knob } = lrAdvice(h.recipe)
    warnings.push({
      code: 'worse-than-start',
      severity: 'warning',
      message:
        `no trained epoch beat the starting point on ID val (start ${pct(start.valAccuracy)}, best trained ${epochLabel(bestTrained.epoch)} ${pct(bestTrained.valAccuracy as number)})` +
        (h.bestEpoch !== null && h.bestEpoch < 0 ? ': the run reports its starting model, epoch 0 (start)' : ''),
      cause: `fine-tuning moved the model away from its start: ${cause}`,
      knob,
    })
  }
  const reported = h.epochs.find((e) => e.epoch === h.bestEpoch) ?? (h.bestEpoch === null ? trained[trained.length - 1] : undefined)
  if (reported?.valAccuracy != null && reported.valAccuracy <= 1.2 * chance && !warnings.some((w) => w.severity === 'error')) {
    const { cause, knob } = h.recipe.trainBackbone ? lrAdvice(h.recipe) : { cause: "the frozen features do not separate the classes", knob: 'check the class folders and the normalisation preset of the model' }
    warnings.push({ code: 'near-chance', severity: 'warning', message: `the reported ID val accuracy ${pct(reported.valAccuracy)} is at chance level (${pct(chance)} for ${K} classes)`, cause, knob })
  }
  return { ok: warnings.length === 0, warnings }
}

/** The run has an error-level warning: it must not win a sweep's selection. */
export function hasHealthError(h: RunHealth | null | undefined): boolean {
  return !!h?.warnings.some((w) => w.severity === 'error')
}

/** One line per warning, for the CLI and CSV notes. */
export function healthLines(h: RunHealth | null | undefined): string[] {
  return (h?.warnings ?? []).map((w) => `${w.severity === 'error' ? 'ERROR' : 'warning'} ${w.code}: ${w.message}. Likely cause: ${w.cause}. Try: ${w.knob}.`)
}
