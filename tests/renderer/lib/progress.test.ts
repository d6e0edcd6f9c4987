import { describe, expect, it } from 'vitest'
import { etaSeconds, progressFraction, updateProgress } from '../../../src/renderer/src/lib/progress'

const ev = (step: number, batch: number, epoch = 0) => ({ epoch, step, batch, batches: 100, loss: 1, imagesPerSec: 500 })

describe('run progress', () => {
  it('has no ETA until two events measured a rate', () => {
    const p = updateProgress(undefined, ev(0, 0), 1000)
    expect(p.secPerStep).toBeNull()
    expect(etaSeconds(p)).toBeNull()
  })
  it('measures seconds per step over throttled events and extrapolates the epoch', () => {
    let p = updateProgress(undefined, ev(0, 0), 0)
    p = updateProgress(p, ev(10, 10), 5000) // 0.5 s per step
    expect(p.secPerStep).toBeCloseTo(0.5, 12)
    // 89 batches left in this epoch
    expect(etaSeconds(p)).toBeCloseTo(89 * 0.5, 9)
    // with 3 epochs in total, two more epochs of 100 batches follow
    expect(etaSeconds(p, 3)).toBeCloseTo((89 + 200) * 0.5, 9)
  })
  it('smooths the rate instead of jumping to the last gap', () => {
    let p = updateProgress(undefined, ev(0, 0), 0)
    p = updateProgress(p, ev(10, 10), 5000)
    p = updateProgress(p, ev(20, 20), 15000) // 1 s per step now
    expect(p.secPerStep!).toBeGreaterThan(0.5)
    expect(p.secPerStep!).toBeLessThan(1)
  })
  it('reports the fraction done within the epoch or the run', () => {
    const p = updateProgress(undefined, ev(149, 49, 1), 0)
    expect(progressFraction(p)).toBeCloseTo(0.5, 12)
    expect(progressFraction(p, 4)).toBeCloseTo(1.5 / 4, 12)
  })
})
