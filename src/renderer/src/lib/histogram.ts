/** Equal-width histogram of `values` over [lo, hi] (default: the data's range); counts are normalised to fractions when `density`. */
export function histogram(values: readonly number[], bins: number, range?: [number, number], density = false): { edges: number[]; counts: number[] } {
  const finite = values.filter((v) => Number.isFinite(v))
  const nb = Math.max(1, Math.floor(bins))
  let [lo, hi] = range ?? [Math.min(...finite), Math.max(...finite)]
  if (!finite.length && !range) [lo, hi] = [0, 1]
  if (hi <= lo) hi = lo + 1
  const width = (hi - lo) / nb
  const edges = Array.from({ length: nb + 1 }, (_, i) => lo + i * width)
  const counts = new Array<number>(nb).fill(0)
  for (const v of finite) {
    if (v < lo || v > hi) continue
    counts[Math.min(nb - 1, Math.floor((v - lo) / width))]++
  }
  if (density && finite.length) for (let i = 0; i < nb; i++) counts[i] /= finite.length
  return { edges, counts }
}
