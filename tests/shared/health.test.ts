import { describe, expect, it } from 'vitest'
import { assessRun, epochLabel, hasHealthError, healthLines, lossBlowup, type HealthInput } from '../../src/shared/health'
import { defaultRecipe } from '../../src/shared/recipes'
import { Rng } from '../../src/shared/random'

/** a healthy loss curve: from ln K down to ~0.3, with batch noise */
function healthyLosses(n: number, K: number, seed = 1): number[] {
  const rng = new Rng(seed, 'losses')
  return Array.from({ length: n }, (_, i) => Math.max(0.01, 0.3 + (Math.log(K) - 0.3) * Math.exp(-i / (n / 5)) + rng.normal(0, 0.15)))
}

const base = (patch: Partial<HealthInput> = {}): HealthInput => ({
  recipe: defaultRecipe('FT'),
  numClasses: 7,
  losses: healthyLosses(120, 7),
  epochs: [
    { epoch: 0, trainAccuracy: 0.7, valAccuracy: 0.72 },
    { epoch: 1, trainAccuracy: 0.85, valAccuracy: 0.8 },
    { epoch: 2, trainAccuracy: 0.92, valAccuracy: 0.84 },
  ],
  bestEpoch: 2,
  bnMomentum: [{ momentum: 0.1, layers: 52 }],
  ...patch,
})

describe('run health', () => {
  it('a healthy run has no warnings (noisy but falling loss, val tracking train)', () => {
    for (const seed of [1, 2, 3, 4, 5]) expect(assessRun(base({ losses: healthyLosses(120, 7, seed) })).warnings).toEqual([])
    expect(assessRun(base()).ok).toBe(true)
  })

  it("DAFT's zero head blowing up (1.95 -> 176 in 13 steps): an error that names eta_w", () => {
    const losses = [1.95, 1.9, 2.1, 2.3, 6, 9, 12, 20, 34, 60, 98, 140, 176]
    const h = assessRun(base({ recipe: { ...defaultRecipe('DAFT'), lr: { backbone: 0.01, head: 1 } }, losses, epochs: [], bestEpoch: null }))
    const w = h.warnings.find((x) => x.code === 'loss-blowup')!
    expect(w.severity).toBe('error')
    expect(w.cause).toMatch(/eta_w = 1 is too large/)
    expect(w.knob).toMatch(/lr\.head/)
    expect(hasHealthError(h)).toBe(true)
  })

  it('a zero head that overshoots at its first update is caught although the blow-up starts at step 2', () => {
    const losses = [Math.log(10), 14.1, 15.9, 25, 40, 71.9, 60, 50, 44, 30, 28, 26]
    expect(lossBlowup(losses, 10)).toMatchObject({ severity: 'error', baseline: Math.log(10) })
  })

  it('LP-FT drifting from its LP head to chance-level loss: a warning that points at the LP-FT learning rate', () => {
    const rng = new Rng(3, 'x')
    const losses = [0.1, 0.56, 0.95, 2.15, ...Array.from({ length: 60 }, () => Math.log(7) + rng.normal(0, 0.05))]
    const b = lossBlowup(losses, 7)!
    expect(b.severity).toBe('warning')
    const h = assessRun(base({ recipe: { ...defaultRecipe('LP-FT'), lr: { backbone: 0.001, head: 0.001 } }, losses }))
    const w = h.warnings.find((x) => x.code === 'loss-blowup')!
    expect(w.cause).toMatch(/too high for LP-FT/)
    expect(hasHealthError(h)).toBe(false)
  })

  it("FT whose ID val collapses while training accuracy rises, with a Keras checkpoint's momentum: names bnMomentum", () => {
    const h = assessRun(
      base({
        epochs: [
          { epoch: 0, trainAccuracy: 0.71, valAccuracy: 0.59 },
          { epoch: 1, trainAccuracy: 0.82, valAccuracy: 0.23 },
          { epoch: 2, trainAccuracy: 0.86, valAccuracy: 0.38 },
        ],
        bestEpoch: 0,
        bnMomentum: [{ momentum: 0.001, layers: 52 }],
      }),
    )
    const w = h.warnings.find((x) => x.code === 'eval-below-train')!
    expect(w.message).toMatch(/epoch 2: ID val 23.0 % against training accuracy 82.0 %/)
    expect(w.cause).toMatch(/momentum 0.001 on 52 layers/)
    expect(w.knob).toMatch(/bnMomentum to 0.1/)
  })

  it('DAFT at 11-13 % ID val (chance 14 %) against 61-72 % training accuracy: eval-below-train and worse than its start', () => {
    const h = assessRun(
      base({
        recipe: { ...defaultRecipe('DAFT'), lr: { backbone: 0.01, head: 0.1 } },
        epochs: [
          { epoch: -1, trainAccuracy: null, valAccuracy: 0.143 },
          { epoch: 0, trainAccuracy: 0.61, valAccuracy: 0.12 },
          { epoch: 1, trainAccuracy: 0.63, valAccuracy: 0.11 },
          { epoch: 2, trainAccuracy: 0.72, valAccuracy: 0.13 },
        ],
        bestEpoch: -1,
      }),
    )
    expect(h.warnings.map((w) => w.code)).toEqual(['eval-below-train', 'worse-than-start', 'near-chance'])
    expect(h.warnings[1].message).toMatch(/start 14.3 %, best trained epoch 3 13.0 %\): the run reports its starting model, epoch 0 \(start\)/)
    // batch-norm statistics are not the suspect when momentum is already PyTorch's
    expect(h.warnings[0].knob).not.toMatch(/set bnMomentum to 0.1/)
  })

  it('frozen BN (LP-FT) is not checked for the train/eval BN gap; plain overfitting is not flagged', () => {
    const overfit = [
      { epoch: 0, trainAccuracy: 0.8, valAccuracy: 0.6 },
      { epoch: 1, trainAccuracy: 0.99, valAccuracy: 0.62 },
      { epoch: 2, trainAccuracy: 1, valAccuracy: 0.61 },
    ]
    expect(assessRun(base({ epochs: overfit })).warnings).toEqual([])
    const collapse = [
      { epoch: 0, trainAccuracy: 0.9, valAccuracy: 0.8 },
      { epoch: 1, trainAccuracy: 0.95, valAccuracy: 0.3 },
    ]
    expect(assessRun(base({ recipe: defaultRecipe('LP-FT'), epochs: collapse })).warnings.map((w) => w.code)).toEqual([])
    expect(assessRun(base({ epochs: collapse })).warnings.map((w) => w.code)).toEqual(['eval-below-train'])
  })

  it('a non-finite loss is a diverged error; lines for the CLI name cause and knob', () => {
    const h = assessRun(base({ diverged: { epoch: 1, batch: 4, loss: NaN }, bestEpoch: null }))
    expect(h.warnings[0]).toMatchObject({ code: 'diverged', severity: 'error' })
    expect(h.warnings[0].message).toBe('the loss became NaN at epoch 2, batch 5: training stopped')
    expect(healthLines(h)[0]).toMatch(/^ERROR diverged: .* Likely cause: .* Try: lower lr/)
    expect(healthLines(null)).toEqual([])
  })

  it('labels the start as epoch 0 and trained epochs from 1', () => {
    expect(epochLabel(-1)).toBe('epoch 0 (start)')
    expect(epochLabel(0)).toBe('epoch 1')
  })
})
