/**
 * Exponential moving average of a curve, debiased like TensorBoard's smoothing slider:
 * s_t = w * s_{t-1} + (1 - w) * x_t, divided by (1 - w^t) so the start is not pulled towards 0.
 * weight 0 returns the values unchanged; non-finite values are passed through and do not update the average.
 */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.999)
  if (w === 0) return values.slice()
  const out: number[] = []
  let acc = 0
  let n = 0
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(v)
      continue
    }
    acc = w * acc + (1 - w) * v
    n++
    out.push(acc / (1 - w ** n))
  }
  return out
}
