import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCheckpoint, saveSafetensors } from '../../../../src/main/engine/io/index'
import { readSafetensors } from '../../../../src/main/engine/io/safetensors'
import type { HostTensor, StateDict } from '../../../../src/main/engine/io/types'
import { CIFAR_RESNET } from '../../../helpers/paths'
import { tempDir } from './fixtures'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

const sample = (): StateDict => new Map<string, HostTensor>([
  ['conv1.weight', { shape: [2, 1, 1, 3], dtype: 'float32', data: Float32Array.from([0.5, -1.25, 3, 1e-8, -0, 7]) }],
  ['bn1.running_var', { shape: [2], dtype: 'float64', data: Float32Array.from([0.1, 2]) }],
  ['half', { shape: [3], dtype: 'float16', data: Float32Array.from([1, -2, 65504]) }],
  ['bf', { shape: [2], dtype: 'bfloat16', data: Float32Array.from([1.5, -256]) }],
  ['idx', { shape: [3], dtype: 'int64', data: Int32Array.from([-5, 0, 2147483647]) }],
  ['i32', { shape: [1], dtype: 'int32', data: Int32Array.from([-9]) }],
  ['mask', { shape: [2], dtype: 'bool', data: Uint8Array.from([1, 0]) }],
  ['bytes', { shape: [2], dtype: 'uint8', data: Uint8Array.from([255, 3]) }],
  ['scalar', { shape: [], dtype: 'float32', data: Float32Array.from([42]) }],
])

describe('safetensors', () => {
  it('round-trips every dtype, shape, key order and the metadata', async () => {
    const file = join(tmp.dir, 'rt.safetensors')
    await saveSafetensors(file, sample(), { source: 'test', epochs: '3' })
    const back = readSafetensors(file)
    expect(back.metadata).toEqual({ source: 'test', epochs: '3' })
    expect([...back.stateDict.keys()]).toEqual([...sample().keys()])
    for (const [k, t] of sample()) {
      const u = back.stateDict.get(k)!
      expect(u.dtype, k).toBe(t.dtype)
      expect(u.shape, k).toEqual(t.shape)
      expect(u.data.constructor, k).toBe(t.data.constructor)
      expect([...u.data], k).toEqual([...t.data])
    }
    const ck = await loadCheckpoint(file)
    expect(ck.format).toBe('safetensors')
    expect(ck.meta).toEqual({ source: 'test', epochs: '3' })
  })

  it('writes the layout of the spec (checked by hand-parsing the bytes)', async () => {
    const file = join(tmp.dir, 'layout.safetensors')
    await saveSafetensors(file, sample(), { k: 'v' })
    const b = readFileSync(file)
    const n = Number(b.readBigUInt64LE(0))
    expect(n % 8).toBe(0)
    const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'))
    expect(header.__metadata__).toEqual({ k: 'v' })
    expect(header['conv1.weight']).toEqual({ dtype: 'F32', shape: [2, 1, 1, 3], data_offsets: [0, 24] })
    expect(header.half.dtype).toBe('F16')
    expect(header.bf.dtype).toBe('BF16')
    expect(header.idx).toEqual({ dtype: 'I64', shape: [3], data_offsets: header.idx.data_offsets })
    expect(header.mask.dtype).toBe('BOOL')
    expect(header.scalar.shape).toEqual([])
    let end = 0
    for (const [k, v] of Object.entries(header) as [string, { data_offsets: [number, number] }][]) {
      if (k === '__metadata__') continue
      expect(v.data_offsets[0]).toBe(end) // contiguous, no gaps
      end = v.data_offsets[1]
    }
    expect(8 + n + end).toBe(b.length)
    const data = b.subarray(8 + n)
    expect(data.readFloatLE(4)).toBe(-1.25)
    const [hb] = header.half.data_offsets
    expect([data.readUInt16LE(hb), data.readUInt16LE(hb + 2), data.readUInt16LE(hb + 4)]).toEqual([0x3c00, 0xc000, 0x7bff])
    const [ib] = header.idx.data_offsets
    expect(data.readBigInt64LE(ib)).toBe(-5n)
    expect(data.readBigInt64LE(ib + 16)).toBe(2147483647n)
    expect(data.readUInt16LE(header.bf.data_offsets[0])).toBe(0x3fc0) // bfloat16 1.5
  })

  it('re-saves a real torch checkpoint losslessly', async () => {
    const ck = await loadCheckpoint(join(CIFAR_RESNET, 'resnet20-12fca82f.th'))
    const file = join(tmp.dir, 'resnet20.safetensors')
    await saveSafetensors(file, ck.stateDict, { best_prec1: String(ck.meta.best_prec1) })
    const back = await loadCheckpoint(file)
    expect([...back.stateDict.keys()]).toEqual([...ck.stateDict.keys()])
    for (const [k, t] of ck.stateDict) expect(Buffer.from(back.stateDict.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true)
  })

  it('rejects offsets past the data, sizes that do not fit the shape, and truncated headers', () => {
    const make = (header: object, dataLen: number): string => {
      const json = Buffer.from(JSON.stringify(header))
      const len = Buffer.alloc(8)
      len.writeBigUInt64LE(BigInt(json.length))
      const f = join(tmp.dir, `bad-${Math.random().toString(36).slice(2)}.safetensors`)
      writeFileSync(f, Buffer.concat([len, json, Buffer.alloc(dataLen)]))
      return f
    }
    const oob = make({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8)
    expect(() => readSafetensors(oob)).toThrow(new RegExp(`${oob}: tensor data out of range: w`))
    const misfit = make({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8)
    expect(() => readSafetensors(misfit)).toThrow(/8 bytes do not fit shape \[3\] of F32/)
    const full = readFileSync(make({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4))
    const cut = join(tmp.dir, 'cut.safetensors')
    writeFileSync(cut, full.subarray(0, 20))
    expect(() => readSafetensors(cut)).toThrow(/truncated safetensors file/)
  })
})
