/**
 * Per-layer domain-shift scores from BN conversion statistics (source M_s, Sigma_s vs target
 * M_t, Sigma_t): meanShift = mean_c |M_t - M_s| / sqrt(Sigma_s), varShift = mean_c |log(Sigma_t / Sigma_s)|.
 * Pure function; Sigma values are floored at `floor` (default 1e-12) to keep the ratios finite.
 */
export interface DomainShiftInput {
  name: string
  stage: string
  Ms: ArrayLike<number>
  Ss: ArrayLike<number>
  Mt: ArrayLike<number>
  St: ArrayLike<number>
}

export interface DomainShiftScore {
  name: string
  stage: string
  meanShift: number
  varShift: number
}

export function domainShift(layers: DomainShiftInput[], floor = 1e-12): DomainShiftScore[] {
  return layers.map((l) => {
    const C = l.Ms.length
    if (C === 0 || l.Ss.length !== C || l.Mt.length !== C || l.St.length !== C) {
      throw new Error(`domainShift: layer ${l.name}: statistics have different lengths (${l.Ms.length}, ${l.Ss.length}, ${l.Mt.length}, ${l.St.length})`)
    }
    let m = 0
    let v = 0
    for (let c = 0; c < C; c++) {
      const ss = Math.max(l.Ss[c], floor)
      const st = Math.max(l.St[c], floor)
      m += Math.abs(l.Mt[c] - l.Ms[c]) / Math.sqrt(ss)
      v += Math.abs(Math.log(st / ss))
    }
    return { name: l.name, stage: l.stage, meanShift: m / C, varShift: v / C }
  })
}
