/** `daft compare` / `daft run` table cells: mean ± std over seeds, and the mean with n = 1 where one seed ran. */
import { describe, expect, it } from 'vitest'
import { formatTable } from '../../../src/main/cli/storeCommands'
import { accuracyCell } from '../../../src/shared/compare'
import type { ComparisonTable } from '../../../src/shared/types'

const table: ComparisonTable = {
  experimentId: 7,
  experiment: 'demo',
  sets: ['id-test', 'stroke'],
  rows: [
    { method: 'LP', runs: 1, seeds: [0], mean: { 'id-test': 0.7, stroke: 0.3 }, std: {}, lr: { backbone: 0, head: 0.1 }, warnings: 0, keptStart: 0 },
    { method: 'DAFT', runs: 2, seeds: [0, 1], mean: { 'id-test': 0.9123 }, std: { 'id-test': 0.004 }, lr: { backbone: 0.05, head: 0.05 }, warnings: 0, keptStart: 0 },
  ],
  best: { 'id-test': 'DAFT', stroke: 'LP' },
  health: [],
}

describe('comparison table cells', () => {
  it('a mean with its spread, or n = 1 where there is no std; never ± 0.00 for one seed', () => {
    expect(accuracyCell(0.9123, 0.004)).toEqual({ mean: '91.23', spread: '± 0.40' })
    expect(accuracyCell(0.7, undefined)).toEqual({ mean: '70.00', spread: 'n = 1' })
    expect(accuracyCell(0.7, undefined, 1)).toEqual({ mean: '70.0', spread: 'n = 1' })
    expect(accuracyCell(undefined, undefined)).toEqual({ mean: '-', spread: '' })
    // two seeds that agree: a real std of 0, measured on n = 2
    expect(accuracyCell(0.5, 0)).toEqual({ mean: '50.00', spread: '± 0.00' })
  })
  it('formats the CLI table', () => {
    const text = formatTable(table)
    expect(text).not.toMatch(/± 0\.00/)
    expect(text.split('\n')).toEqual([
      'experiment #7 demo: accuracy %, mean ± std over seeds, * = best per column',
      'method   runs          id-test           stroke',
      'LP          1      70.00 n = 1     *30.00 n = 1',
      'DAFT        2    *91.23 ± 0.40                -',
    ])
  })
})
