/**
 * Live progress of a training run from `run.batch` events: fraction done and ETA.
 * The engine numbers epochs and batches from 0; `batches` is the number of batches per epoch.
 */
export interface BatchEventLike {
  epoch: number
  step: number
  batch: number
  batches: number
  loss: number
  imagesPerSec: number
}

export interface RunProgress extends BatchEventLike {
  /** wall-clock ms of the last event */
  at: number
  /** smoothed seconds per training step, null until two events were seen */
  secPerStep: number | null
}

/** Folds one batch event into the progress; the seconds per step are an EMA over event gaps (robust to throttled events). */
export function updateProgress(prev: RunProgress | undefined, ev: BatchEventLike, now: number): RunProgress {
  let secPerStep = prev?.secPerStep ?? null
  if (prev && ev.step > prev.step && now > prev.at) {
    const sample = (now - prev.at) / 1000 / (ev.step - prev.step)
    secPerStep = secPerStep === null ? sample : 0.8 * secPerStep + 0.2 * sample
  }
  return { epoch: ev.epoch, step: ev.step, batch: ev.batch, batches: ev.batches, loss: ev.loss, imagesPerSec: ev.imagesPerSec, at: now, secPerStep }
}

/** Fraction of training done in [0, 1]; within the current epoch when the total number of epochs is unknown. */
export function progressFraction(p: RunProgress, totalEpochs?: number | null): number {
  const inEpoch = p.batches > 0 ? Math.min(1, (p.batch + 1) / p.batches) : 0
  if (!totalEpochs || totalEpochs <= 0) return inEpoch
  return Math.min(1, (p.epoch + inEpoch) / totalEpochs)
}

/**
 * Seconds left: the rest of this epoch, plus the remaining epochs when their number is known.
 * Evaluation passes between epochs are not counted. null until a rate was measured.
 */
export function etaSeconds(p: RunProgress, totalEpochs?: number | null): number | null {
  if (p.secPerStep === null || p.batches <= 0) return null
  const leftInEpoch = Math.max(0, p.batches - (p.batch + 1))
  const laterEpochs = totalEpochs && totalEpochs > p.epoch + 1 ? (totalEpochs - p.epoch - 1) * p.batches : 0
  return (leftInEpoch + laterEpochs) * p.secPerStep
}
