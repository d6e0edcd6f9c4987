/**
 * Raw storage bytes -> HostTensor: strided views made contiguous, float16/bfloat16/float64 -> Float32Array,
 * int64/int32/int16/int8 -> Int32Array (int64 clamped to the int32 range, counted), uint8/bool -> Uint8Array.
 */
import { LIMITS, shapeNumel, shapeProblem } from './limits'
import { CheckpointError, type HostDType, type HostTensor } from './types'

export const ELEMENT_SIZE: Record<HostDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
}

const f16Table = (() => {
  const t = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1
    const e = (h >> 10) & 0x1f
    const m = h & 0x3ff
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15)
  }
  return t
})()

export const halfToFloat = (h: number): number => f16Table[h & 0xffff]

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** float32 -> IEEE half bits, round to nearest even (overflow -> Inf, NaN kept). */
export function floatToHalf(v: number): number {
  f32[0] = v
  const x = u32[0]
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    let h = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const half = 1 << (shift - 1)
    if (rem > half || (rem === half && h & 1)) h++
    return sign | h
  }
  let h = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++
  return sign | h
}

/** float32 -> bfloat16 bits, round to nearest even. */
export function floatToBFloat16(v: number): number {
  f32[0] = v
  const x = u32[0]
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

export const bfloat16ToFloat = (b: number): number => {
  u32[0] = (b & 0xffff) << 16
  return f32[0]
}

export function outputArray(dtype: HostDType, n: number): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16') return new Float32Array(n)
  if (dtype === 'uint8' || dtype === 'bool') return new Uint8Array(n)
  return new Int32Array(n)
}

type ElementReader = (byteOffset: number) => number

function elementReader(dv: DataView, dtype: HostDType, le: boolean, clamped: { n: number }): ElementReader {
  switch (dtype) {
    case 'float32': return (o) => dv.getFloat32(o, le)
    case 'float64': return (o) => dv.getFloat64(o, le)
    case 'float16': return (o) => f16Table[dv.getUint16(o, le)]
    case 'bfloat16': return (o) => bfloat16ToFloat(dv.getUint16(o, le))
    case 'int64': return (o) => {
      const lo = dv.getUint32(o + (le ? 0 : 4), le)
      const hi = dv.getInt32(o + (le ? 4 : 0), le)
      if ((hi === 0 && lo <= 0x7fffffff) || (hi === -1 && lo >= 0x80000000)) return lo | 0
      clamped.n++
      return hi < 0 ? -0x80000000 : 0x7fffffff
    }
    case 'int32': return (o) => dv.getInt32(o, le)
    case 'int16': return (o) => dv.getInt16(o, le)
    case 'int8': return (o) => dv.getInt8(o)
    case 'uint8': return (o) => dv.getUint8(o)
    case 'bool': return (o) => (dv.getUint8(o) ? 1 : 0)
  }
}

export interface StridedSpec {
  dtype: HostDType
  /** element offset into the storage */
  offset: number
  size: number[]
  stride: number[]
  littleEndian?: boolean
}

export interface TensorReadResult { tensor: HostTensor; clamped: number }

const isContiguous = (size: number[], stride: number[]): boolean => {
  let expect = 1
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expect) return false
    expect *= size[d]
  }
  return true
}

/**
 * Check a strided view against a storage of `storageNumel` elements and return its element count:
 * non-negative integer sizes, strides and offset, the rank and every dimension within LIMITS, the whole view
 * inside the storage ("tensor data out of range"), and no more elements than the storage holds unless the
 * view repeats elements (stride 0 / overlapping strides) within LIMITS.broadcastElements.
 */
export function checkView(spec: Pick<StridedSpec, 'offset' | 'size' | 'stride'>, storageNumel: number, file: string, name: string): number {
  const { offset, size, stride } = spec
  if (!Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length) {
    throw new CheckpointError(file, `tensor ${name}: size ${JSON.stringify(size)} and stride ${JSON.stringify(stride)} differ in rank`)
  }
  const isIndex = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
  if (!size.every(isIndex) || !stride.every(isIndex) || !isIndex(offset)) {
    throw new CheckpointError(file, `tensor ${name}: negative or non-integer size/stride/offset (size ${JSON.stringify(size)}, stride ${JSON.stringify(stride)}, offset ${offset})`)
  }
  const bad = shapeProblem(size)
  if (bad) throw new CheckpointError(file, `tensor ${name}: ${bad}`)
  const n = shapeNumel(size)
  if (n > 0) {
    let maxIndex = offset
    for (let d = 0; d < size.length; d++) maxIndex += (size[d] - 1) * stride[d]
    if (!(maxIndex < storageNumel)) {
      throw new CheckpointError(file, `tensor data out of range: ${name} (shape ${JSON.stringify(size)}, stride ${JSON.stringify(stride)}, offset ${offset}) needs element ${maxIndex} of a storage holding ${storageNumel}`)
    }
  }
  if (n > storageNumel && n > LIMITS.broadcastElements) {
    const zero = stride.some((s, d) => s === 0 && size[d] > 1)
    throw new CheckpointError(file, `tensor '${name}' views ${n} elements of a storage of ${storageNumel} (stride ${JSON.stringify(stride)}${zero ? ', stride 0 repeats elements' : ', overlapping strides'}); a view may repeat storage elements only up to ${LIMITS.broadcastElements} elements`)
  }
  return n
}

/**
 * Read a (possibly strided) tensor out of storage bytes. `bytes` holds the whole storage
 * (numel = bytes.length / element size). Throws CheckpointError "tensor data out of range" when the
 * view reaches past the storage, and refuses views that materialise more elements than the storage
 * holds beyond a small broadcasting allowance (checkView).
 */
export function readStrided(bytes: Uint8Array, spec: StridedSpec, file: string, name: string): TensorReadResult {
  const { dtype, offset, size, stride } = spec
  const le = spec.littleEndian ?? true
  const es = ELEMENT_SIZE[dtype]
  const storageNumel = Math.floor(bytes.length / es)
  const n = checkView(spec, storageNumel, file, name)
  const out = outputArray(dtype, n)
  const clamped = { n: 0 }
  const contiguous = isContiguous(size, stride)
  if (contiguous && le && dtype === 'float32') {
    new Uint8Array(out.buffer).set(bytes.subarray(offset * 4, offset * 4 + n * 4))
  } else if (contiguous && (dtype === 'uint8' || (dtype === 'bool' && bytes.subarray(offset, offset + n).every((b) => b <= 1)))) {
    out.set(bytes.subarray(offset, offset + n))
  } else if (n > 0) {
    const read = elementReader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), dtype, le, clamped)
    if (contiguous) {
      for (let i = 0; i < n; i++) out[i] = read((offset + i) * es)
    } else {
      const rank = size.length
      const idx = new Array<number>(rank).fill(0)
      let src = offset
      for (let i = 0; i < n; i++) {
        out[i] = read(src * es)
        for (let d = rank - 1; d >= 0; d--) {
          idx[d]++
          src += stride[d]
          if (idx[d] < size[d]) break
          src -= stride[d] * size[d]
          idx[d] = 0
        }
      }
    }
  }
  return { tensor: { shape: [...size], dtype, data: out }, clamped: clamped.n }
}
