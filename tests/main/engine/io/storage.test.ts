import { describe, expect, it } from 'vitest'
import { bfloat16ToFloat, floatToBFloat16, floatToHalf, halfToFloat, readStrided } from '../../../../src/main/engine/io/storage'

describe('half / bfloat16 conversion', () => {
  it('decodes known half bit patterns', () => {
    expect(halfToFloat(0x3c00)).toBe(1)
    expect(halfToFloat(0xc000)).toBe(-2)
    expect(halfToFloat(0x7bff)).toBe(65504)
    expect(halfToFloat(0x0001)).toBe(2 ** -24)
    expect(halfToFloat(0x7c00)).toBe(Infinity)
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true)
  })

  it('float -> half -> float is the identity on all 63488 finite halves, and rounds to nearest even', () => {
    const wrong: number[] = []
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) !== 0x7c00 && floatToHalf(halfToFloat(h)) !== h) wrong.push(h)
    }
    expect(wrong).toEqual([])
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00) // tie -> even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02)
    expect(floatToHalf(1e6)).toBe(0x7c00)
  })

  it('bfloat16 round-trips and rounds to nearest even', () => {
    for (const v of [1, -2.5, 3.140625, 1e30, -1e-30]) expect(bfloat16ToFloat(floatToBFloat16(bfloat16ToFloat(floatToBFloat16(v))))).toBe(bfloat16ToFloat(floatToBFloat16(v)))
    expect(floatToBFloat16(1.5)).toBe(0x3fc0)
    expect(bfloat16ToFloat(0x3fc0)).toBe(1.5)
    expect(floatToBFloat16(1 + 2 ** -8)).toBe(0x3f80) // tie -> even
  })
})

describe('readStrided', () => {
  const le = (xs: number[], T: Float64ArrayConstructor | BigInt64ArrayConstructor): Uint8Array =>
    new Uint8Array((T === BigInt64Array ? BigInt64Array.from(xs.map(BigInt)) : Float64Array.from(xs)).buffer)

  it('gathers a permuted 3-d view and widens float64', () => {
    const data = Array.from({ length: 24 }, (_, i) => i)
    // storage [2,3,4] contiguous; view permute(2,0,1) -> size [4,2,3], stride [1,12,4]
    const { tensor } = readStrided(le(data, Float64Array), { dtype: 'float64', offset: 0, size: [4, 2, 3], stride: [1, 12, 4] }, 'f', 'x')
    const expected: number[] = []
    for (let c = 0; c < 4; c++) for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) expected.push(a * 12 + b * 4 + c)
    expect(tensor.data).toBeInstanceOf(Float32Array)
    expect([...tensor.data]).toEqual(expected)
  })

  it('clamps int64 beyond int32 and counts it; reads big-endian storages', () => {
    const r = readStrided(le([1, -2, 2 ** 40, -(2 ** 40)], BigInt64Array), { dtype: 'int64', offset: 0, size: [4], stride: [1] }, 'f', 'x')
    expect([...r.tensor.data]).toEqual([1, -2, 2147483647, -2147483648])
    expect(r.clamped).toBe(2)
    const be = new Uint8Array([0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0])
    expect([...readStrided(be, { dtype: 'float32', offset: 0, size: [2], stride: [1], littleEndian: false }, 'f', 'x').tensor.data]).toEqual([1, -2])
  })

  it('rejects views past the storage and rank mismatches, naming file and tensor', () => {
    const bytes = new Uint8Array(16)
    expect(() => readStrided(bytes, { dtype: 'float32', offset: 1, size: [2, 2], stride: [2, 1] }, 'm.pt', 'w')).toThrow(/^m\.pt: tensor data out of range: w/)
    expect(() => readStrided(bytes, { dtype: 'float32', offset: 0, size: [2, 2], stride: [1] }, 'm.pt', 'w')).toThrow(/differ in rank/)
    expect(readStrided(bytes, { dtype: 'float32', offset: 0, size: [0, 5], stride: [5, 1] }, 'm.pt', 'w').tensor.data.length).toBe(0)
  })
})
