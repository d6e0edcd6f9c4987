import { describe, expect, it } from 'vitest'
import type { ComparisonTable } from '../../../src/shared/types'
import { comparisonToCsv, csvField, csvFileName } from '../../../src/renderer/src/lib/csv'

const table: ComparisonTable = {
  experimentId: 3,
  experiment: 'DAFT vs FT, "cifar"',
  sets: ['id-test', 'cifar10.1'],
  rows: [
    { method: 'FT', runs: 3, seeds: [0, 1, 2], mean: { 'id-test': 0.9123, 'cifar10.1': 0.8 }, std: { 'id-test': 0.004, 'cifar10.1': 0.01 }, lr: { backbone: 0.01, head: 0.01 }, warnings: 0, keptStart: 0 },
    { method: 'DAFT', runs: 3, seeds: [0, 1, 2], mean: { 'id-test': 0.915, 'cifar10.1': 0.83 }, std: { 'id-test': 0.002, 'cifar10.1': 0.005 }, lr: { backbone: 0.003, head: 1 }, warnings: 1, keptStart: 0 },
    { method: 'LP', runs: 1, seeds: [0], mean: { 'id-test': 0.7 }, std: {}, lr: { backbone: 0, head: 0 }, warnings: 0, keptStart: 0 },
  ],
  best: { 'id-test': 'DAFT', 'cifar10.1': 'DAFT' },
  health: [],
}

describe('comparison CSV', () => {
  it('quotes fields with commas, quotes and newlines', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('x\ny')).toBe('"x\ny"')
    expect(csvField(Number.NaN)).toBe('')
  })
  it('writes one row per method with mean / std in percent and the best marks', () => {
    const lines = comparisonToCsv(table).trimEnd().split('\r\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe('method,runs,seeds,lr_backbone,lr_head,id-test mean (%),id-test std (%),id-test best,cifar10.1 mean (%),cifar10.1 std (%),cifar10.1 best')
    expect(lines[1]).toBe('FT,3,0 1 2,0.01,0.01,91.23,0.4,,80,1,')
    expect(lines[2]).toBe('DAFT,3,0 1 2,0.003,1,91.5,0.2,yes,83,0.5,yes')
    // a set without results stays empty, not 0 or NaN
    expect(lines[3]).toBe('LP,1,0,0,0,70,,,,,')
  })
  it('derives a safe file name', () => {
    expect(csvFileName(table.experiment)).toBe('daft-vs-ft-cifar.csv')
    expect(csvFileName('***')).toBe('comparison.csv')
  })
})
