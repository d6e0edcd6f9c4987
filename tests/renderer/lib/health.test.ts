import { describe, expect, it } from 'vitest'
import type { RunHealth } from '../../../src/shared/health'
import type { ComparisonTable } from '../../../src/shared/types'
import { compareRowTitle, epochCell, epochX, healthLevel, healthNoteWho, healthTitle, keptStartNote, methodHealthLevel } from '../../../src/renderer/src/lib/health'

const warning = { code: 'worse-than-start', severity: 'warning', message: 'no trained epoch beat the starting point on ID val', cause: 'lr too high', knob: 'lower lr' } as const
const error = { code: 'diverged', severity: 'error', message: 'the loss became NaN at epoch 2, batch 3: training stopped', cause: 'eta_w too large', knob: 'lower lr.head (try 0.1)' } as const

describe('run health and epoch labels', () => {
  it('puts the start (epoch -1) at 0 and trained epoch e at e + 1', () => {
    expect([-1, 0, 1, 19].map(epochX)).toEqual([0, 1, 2, 20])
    expect([-1, 0, 4].map(epochCell)).toEqual(['0 (start)', '1', '5'])
  })
  it('grades a run by its worst warning', () => {
    expect(healthLevel(null)).toBeNull()
    expect(healthLevel({ ok: true, warnings: [] })).toBeNull()
    expect(healthLevel({ ok: false, warnings: [warning] })).toBe('warning')
    expect(healthLevel({ ok: false, warnings: [warning, error] })).toBe('error')
  })
  it('lists every warning with cause and knob in the tooltip', () => {
    const h: RunHealth = { ok: false, warnings: [error, warning] }
    const lines = healthTitle(h).split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toBe('ERROR diverged: the loss became NaN at epoch 2, batch 3: training stopped. Likely cause: eta_w too large. Try: lower lr.head (try 0.1).')
    expect(lines[1]).toMatch(/^warning worse-than-start: .*Try: lower lr\.$/)
    expect(healthTitle(null)).toBe('')
  })
})

describe('comparison health', () => {
  const table: Pick<ComparisonTable, 'health'> = {
    health: [
      { runId: 7, method: 'DAFT', seed: 0, role: 'final', lr: { backbone: 0.01, head: 1 }, warning },
      { runId: 3, method: 'DAFT', seed: 0, role: 'sweep', lr: { backbone: 0.1, head: 10 }, warning: error },
      { runId: 9, method: 'FT', seed: 1, role: 'final', lr: { backbone: 0.01, head: 0.01 }, warning },
    ],
  }
  const row = { method: 'DAFT', runs: 3, seeds: [0, 1, 2], mean: {}, std: {}, lr: { backbone: 0.01, head: 1 }, warnings: 1, keptStart: 1 }
  it('names the run, and the learning rates of sweep runs', () => {
    expect(healthNoteWho(table.health[0])).toBe('run #7 · DAFT · seed 0 · final')
    expect(healthNoteWho(table.health[1])).toBe('run #3 · DAFT · seed 0 · sweep, lr θ / w 0.1 / 10')
  })
  it("grades and describes a row from its method's notes", () => {
    expect(methodHealthLevel(table, 'DAFT')).toBe('error')
    expect(methodHealthLevel(table, 'FT')).toBe('warning')
    expect(methodHealthLevel(table, 'LP')).toBeNull()
    const title = compareRowTitle(table, row).split('\n')
    expect(title[0]).toBe('1 health warning in the reported runs of DAFT:')
    expect(title.slice(1)).toEqual([
      'run #7 (seed 0, final): warning worse-than-start: no trained epoch beat the starting point on ID val',
      'run #3 (seed 0, sweep): ERROR diverged: the loss became NaN at epoch 2, batch 3: training stopped',
    ])
  })
  it('notes rows whose runs report their starting point', () => {
    expect(keptStartNote({ keptStart: 0, runs: 3 })).toBeNull()
    expect(keptStartNote({ keptStart: 1, runs: 3 })).toBe('1 of 3 runs reports its starting point: no trained epoch beat it on ID val')
    expect(keptStartNote({ keptStart: 2, runs: 3 })).toBe('2 of 3 runs report their starting point: no trained epoch beat it on ID val')
  })
})
