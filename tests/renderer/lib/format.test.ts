import { describe, expect, it } from 'vitest'
import { errMsg, fmtCount, fmtDuration, fmtNum, fmtPct, parseNumberList } from '../../../src/renderer/src/lib/format'

describe('format', () => {
  it('abbreviates parameter counts', () => {
    expect(fmtCount(11_172_042)).toBe('11.2M')
    expect(fmtCount(272_474)).toBe('272k')
    expect(fmtCount(5_400)).toBe('5.4k')
    expect(fmtCount(1_234_567)).toBe('1.23M')
    expect(fmtCount(999)).toBe('999')
  })
  it('formats accuracies and durations', () => {
    expect(fmtPct(0.93456)).toBe('93.5')
    expect(fmtPct(null)).toBe('–')
    expect(fmtDuration(45.4)).toBe('45 s')
    expect(fmtDuration(725)).toBe('12 min 05 s')
    expect(fmtDuration(3 * 3600 + 125)).toBe('3 h 02 min')
    expect(fmtDuration(3599.6)).toBe('1 h 00 min')
    expect(fmtDuration(null)).toBe('–')
  })
  it('writes learning rates compactly', () => {
    expect(fmtNum(1e-4)).toBe('1e-4')
    expect(fmtNum(3e-7)).toBe('3e-7')
    expect(fmtNum(0.03)).toBe('0.03')
    expect(fmtNum(10)).toBe('10')
    expect(fmtNum(0)).toBe('0')
  })
  it('parses number lists and names the bad tokens', () => {
    expect(parseNumberList('0.3, 0.1 3e-4;1e-4')).toEqual({ values: [0.3, 0.1, 3e-4, 1e-4], errors: [] })
    expect(parseNumberList('0.1, abc').errors).toEqual(["'abc' is not a number"])
  })
  it('extracts error messages', () => {
    expect(errMsg(new Error('boom'))).toBe('boom')
    expect(errMsg('plain')).toBe('plain')
  })
})
