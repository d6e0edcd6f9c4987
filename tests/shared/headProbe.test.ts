import { describe, expect, it } from 'vitest'
import { PAPER_HEAD_LRS, PROBE_HEAD_LRS, extendedHeadGrid, headProbeLines, type HeadProbeResult } from '../../src/shared/headProbe'
import { applyHeadProbe, resolveExperiment, sweepsDaft, type ExperimentFile } from '../../src/shared/experiments'

const probe = (unstableAbove: number): HeadProbeResult => ({
  images: 600, featureDim: 1280, numClasses: 10, meanSqFeatureNorm: 1651.5, steps: 150, batchSize: 32, startLoss: Math.log(10),
  points: PROBE_HEAD_LRS.map((lr) => ({ lr, finalLoss: lr >= unstableAbove ? 20 : 0.5, maxLoss: 30, blowup: lr >= unstableAbove })),
})

describe('DAFT head-rate grid', () => {
  it('probes the paper grid continued downwards', () => {
    expect(PROBE_HEAD_LRS.slice(0, 5)).toEqual([...PAPER_HEAD_LRS])
    expect(PROBE_HEAD_LRS[PROBE_HEAD_LRS.length - 1]).toBe(1e-4)
  })

  it("keeps the paper's grid when nothing blows up", () => {
    const g = extendedHeadGrid(probe(100))
    expect(g).toMatchObject({ step1: 1, step2: [10, 3, 0.3, 0.1], deviates: false, unstable: [] })
  })

  it('drops what blows up and continues the 1-3 grid downwards to five values; step 1 at the largest <= 1', () => {
    expect(extendedHeadGrid(probe(0.3))).toMatchObject({ step1: 0.1, step2: [0.03, 0.01, 0.003, 0.001], unstable: [10, 3, 1, 0.3], deviates: true })
    expect(extendedHeadGrid(probe(10))).toMatchObject({ step1: 1, step2: [3, 0.3, 0.1, 0.03], unstable: [10], deviates: true })
    expect(extendedHeadGrid(probe(0.3)).note).toMatch(/eta_w \{10, 3, 1, 0.3\} of the paper's grid blow up .* deviation from the paper's protocol/)
  })

  it('says so, and keeps the paper grid, when every probed rate blows up', () => {
    const g = extendedHeadGrid(probe(0))
    expect(g.deviates).toBe(false)
    expect(g.note).toMatch(/every eta_w the probe tried .* blows up/)
  })

  it("an experiment file asks for the extended grid; the probe's result is recorded and applied only then", () => {
    const file: ExperimentFile = {
      model: 'm.pth', data: { id: 'd' }, methods: ['FT', 'DAFT'], seeds: [0, 1, 2],
      sweep: { lr: { FT: [0.01], DAFT: [0.01, 0.001] }, daftHeadLr: 'extended' },
    }
    const { spec, errors } = resolveExperiment(file)
    expect(errors).toEqual([])
    expect(spec!.data.splitSeed).toBe(0)
    expect(spec!.sweep).toMatchObject({ daftStep1HeadLr: 1, daftHeadLr: [10, 3, 0.3, 0.1], daftHeadLrMode: 'extended', sweepSeed: 0 })
    expect(sweepsDaft(spec!)).toBe(true)
    const r = probe(0.3)
    const applied = applyHeadProbe(spec!, r, extendedHeadGrid(r))
    expect(applied.sweep).toMatchObject({ daftStep1HeadLr: 0.1, daftHeadLr: [0.03, 0.01, 0.003, 0.001] })
    expect(applied.sweep!.headProbe!.grid.deviates).toBe(true)
    // the paper's grid stays when the file did not ask for the extension; the probe is still recorded and shown
    const paper = resolveExperiment({ ...file, sweep: { ...file.sweep, daftHeadLr: undefined } }).spec!
    const kept = applyHeadProbe(paper, r, extendedHeadGrid(r))
    expect(kept.sweep).toMatchObject({ daftStep1HeadLr: 1, daftHeadLr: [10, 3, 0.3, 0.1], daftHeadLrMode: 'paper' })
    expect(headProbeLines(r, extendedHeadGrid(r), 'paper').join('\n')).toMatch(/set sweep.daftHeadLr: extended/)
    expect(resolveExperiment({ ...file, sweep: { lr: {}, daftHeadLr: 'wider' as never } }).errors[0]).toMatch(/sweep.daftHeadLr: a list of learning rates, 'paper' or 'extended'/)
    expect(resolveExperiment({ ...file, data: { id: 'd', splitSeed: -1 } }).errors[0]).toMatch(/data.splitSeed/)
  })
})
