/**
 * Cosine learning-rate schedule stepped once per epoch: PyTorch's CosineAnnealingLR with
 * T_max = epochs, eta_min = 0 and no warm-up. Epoch e (0-based) trains with
 *   lr_e = eta_min + (base - eta_min) * (1 + cos(pi * e / T_max)) / 2
 * (the closed form; PyTorch's recursive update gives the same values up to rounding).
 */
export function cosineLr(base: number, epoch: number, tMax: number, etaMin = 0): number {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`cosine schedule: epoch must be an integer >= 0 (got ${epoch})`)
  if (!Number.isInteger(tMax) || tMax < 1) throw new Error(`cosine schedule: T_max must be an integer >= 1 (got ${tMax})`)
  return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2
}

/** The learning rate of every epoch 0..epochs-1. */
export function cosineSchedule(base: number, epochs: number, etaMin = 0): number[] {
  return Array.from({ length: epochs }, (_, e) => cosineLr(base, e, epochs, etaMin))
}
