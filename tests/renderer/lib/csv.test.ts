import { describe, expect, it } from 'vitest'
import type { ComparisonTable } from '../../../src/shared/types'
import { comparisonCsv, compareRuns, csvField } from '../../../src/shared/compare'
import type { RunSummary } from '../../../src/shared/experiments'
import { csvFileName } from '../../../src/renderer/src/lib/csv'

const table: ComparisonTable = {
  experimentId: 3,
  experiment: 'DAFT vs FT, "cifar"',
  sets: ['id-test', 'cifar10.1'],
  rows: [
    { method: 'FT', runs: 3, seeds: [0, 1, 2], mean: { 'id-test': 0.9123, 'cifar10.1': 0.8 }, std: { 'id-test': 0.004, 'cifar10.1': 0.01 }, lr: { backbone: 0.01, head: 0.01 }, warnings: 0, keptStart: 0 },
    { method: 'DAFT', runs: 3, seeds: [0, 1, 2], mean: { 'id-test': 0.915, 'cifar10.1': 0.83 }, std: { 'id-test': 0.002, 'cifar10.1': 0.005 }, lr: { backbone: 0.003, head: 1 }, warnings: 1, keptStart: 0 },
    // one seed: a mean, no std
    { method: 'LP', runs: 1, seeds: [0], mean: { 'id-test': 0.7 }, std: {}, lr: { backbone: 0, head: 0 }, warnings: 0, keptStart: 0 },
  ],
  best: { 'id-test': 'DAFT', 'cifar10.1': 'DAFT' },
  health: [],
}

describe('comparison CSV (the one writer: daft compare --csv and Compare\'s Export CSV)', () => {
  it('quotes fields with commas, quotes and newlines', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('x\ny')).toBe('"x\ny"')
    expect(csvField('x\ry')).toBe('"x\ry"')
  })
  it('writes one row per method: n, seeds, learning rates, then mean / std per set in percent', () => {
    const csv = comparisonCsv(table)
    expect(csv.endsWith('\n')).toBe(true)
    const lines = csv.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe('method,n,seeds,lr_backbone,lr_head,id-test_mean,id-test_std,cifar10.1_mean,cifar10.1_std')
    expect(lines[1]).toBe('FT,3,0 1 2,0.01,0.01,91.23,0.4,80,1')
    expect(lines[2]).toBe('DAFT,3,0 1 2,0.003,1,91.5,0.2,83,0.5')
    // n = 1: the mean and an empty std (not 0); a set without results stays empty, not 0 or NaN
    expect(lines[3]).toBe('LP,1,0,0,0,70,,,')
  })
  it('keeps 4 decimals of a percentage and quotes a method name with a comma', () => {
    const t: ComparisonTable = { ...table, sets: ['id-test'], rows: [{ ...table.rows[0], method: 'FT, bn', mean: { 'id-test': 0.123456789 }, std: { 'id-test': 0.0001234 } }] }
    expect(comparisonCsv(t).split('\n')[1]).toBe('"FT, bn",3,0 1 2,0.01,0.01,12.3457,0.0123')
  })
  it('from runs: one seed gives an empty std, two seeds a sample std', () => {
    const run = (id: number, method: string, seed: number, acc: number): RunSummary =>
      ({ id, method, seed, role: 'single', status: 'succeeded', final: { 'id-test': acc }, lr: { backbone: 0.1, head: 0.1 }, bestEpoch: 0, health: null }) as unknown as RunSummary
    const t = compareRuns(1, 'x', [run(1, 'LP', 0, 0.5), run(2, 'FT', 0, 0.6), run(3, 'FT', 1, 0.8)])
    expect(t.rows.find((r) => r.method === 'LP')!.std).toEqual({})
    expect(comparisonCsv(t).trimEnd().split('\n').slice(1)).toEqual(['LP,1,0,0.1,0.1,50,', 'FT,2,0 1,0.1,0.1,70,14.1421'])
  })
  it('derives a safe file name', () => {
    expect(csvFileName(table.experiment)).toBe('daft-vs-ft-cifar.csv')
    expect(csvFileName('***')).toBe('comparison.csv')
  })
})
