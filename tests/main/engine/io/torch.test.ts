import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../../../src/main/engine/io/index'
import { CheckpointError, type LoadedCheckpoint } from '../../../../src/main/engine/io/types'
import { CIFAR_RESNET } from '../../../helpers/paths'
import { f32bytes, makeZip, tensorDictPickle, tempDir } from './fixtures'

const TH = join(CIFAR_RESNET, 'resnet20-12fca82f.th')
const PT = join(CIFAR_RESNET, 'DERIVED_resnet20-12fca82f_zipformat.pt')
const tmp = tempDir()
afterAll(() => tmp.cleanup())

/** Keys of the CIFAR ResNet (He et al. option A) with n blocks per stage, in module order. */
function cifarResnetKeys(n: number): string[] {
  const bn = (p: string): string[] => ['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${p}.${s}`)
  const keys = ['conv1.weight', ...bn('bn1')]
  for (const layer of [1, 2, 3]) {
    for (let i = 0; i < n; i++) keys.push(`layer${layer}.${i}.conv1.weight`, ...bn(`layer${layer}.${i}.bn1`), `layer${layer}.${i}.conv2.weight`, ...bn(`layer${layer}.${i}.bn2`))
  }
  return [...keys, 'linear.weight', 'linear.bias']
}

describe('CIFAR ResNet checkpoints (legacy .th and zip .pt)', () => {
  let th: LoadedCheckpoint
  let pt: LoadedCheckpoint
  beforeAll(async () => {
    th = await loadCheckpoint(TH)
    pt = await loadCheckpoint(PT)
  })

  it('detects both formats', () => {
    expect(th.format).toBe('torch-legacy')
    expect(pt.format).toBe('torch-zip')
  })

  it('the legacy and zip files load to identical tensors (keys, order, shapes, dtypes, bytes)', () => {
    expect([...pt.stateDict.keys()]).toEqual([...th.stateDict.keys()])
    for (const [k, a] of th.stateDict) {
      const b = pt.stateDict.get(k)!
      expect(b.shape, k).toEqual(a.shape)
      expect(b.dtype, k).toBe(a.dtype)
      expect(Buffer.compare(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)), k).toBe(0)
    }
  })

  it('normalises keys to plain module names with the expected shapes, and keeps best_prec1 as meta', () => {
    expect([...th.stateDict.keys()]).toEqual(cifarResnetKeys(3))
    const shape = (k: string): number[] => th.stateDict.get(k)!.shape
    expect(shape('conv1.weight')).toEqual([16, 3, 3, 3])
    expect(shape('bn1.running_var')).toEqual([16])
    expect(shape('layer1.0.conv1.weight')).toEqual([16, 16, 3, 3])
    expect(shape('layer2.0.conv1.weight')).toEqual([32, 16, 3, 3])
    expect(shape('layer3.2.bn2.weight')).toEqual([64])
    expect(shape('linear.weight')).toEqual([10, 64])
    expect(shape('linear.bias')).toEqual([10])
    expect(th.stateDict.get('conv1.weight')!.data).toBeInstanceOf(Float32Array)
    expect(th.meta.best_prec1).toBeCloseTo(91.78, 4)
    expect(pt.meta.best_prec1).toBeCloseTo(91.78, 4)
    expect(th.notes.join('\n')).toMatch(/unwrapped 'state_dict'/)
    expect(th.notes.join('\n')).toMatch(/stripped 'module\.' prefix .* from 97 key/)
  })

  it('holds real trained statistics (running_var positive, not all equal)', () => {
    const rv = th.stateDict.get('layer2.1.bn1.running_var')!.data as Float32Array
    expect(Math.min(...rv)).toBeGreaterThan(0)
    expect(new Set(rv).size).toBeGreaterThan(10)
  })

  it('loads all four legacy CIFAR ResNets with 19/31/43/55 BatchNorm layers', async () => {
    const files: [string, number][] = [['resnet20-12fca82f.th', 3], ['resnet32-d509ac18.th', 5], ['resnet44-014dd654.th', 7], ['resnet56-4bfd9763.th', 9]]
    for (const [f, n] of files) {
      const ck = await loadCheckpoint(join(CIFAR_RESNET, f))
      const bnLayers = [...ck.stateDict.keys()].filter((k) => k.endsWith('running_mean')).length
      expect(bnLayers, f).toBe(6 * n + 1)
      expect([...ck.stateDict.keys()], f).toEqual(cifarResnetKeys(n))
      expect(typeof ck.meta.best_prec1).toBe('number')
    }
  })
})

describe('torch zip details (hand-built archives)', () => {
  it('makes strided views contiguous, widens float16 and reads any archive prefix folder', async () => {
    const storage0 = f32bytes([0, 1, 2, 3, 4, 5])
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]).buffer) // 1, -2, 65504, 2^-24
    const pkl = tensorDictPickle([
      { name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [2, 3], stride: [3, 1] },
      { name: 'wT', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [3, 2], stride: [1, 3] },
      { name: 'col', storageType: 'FloatStorage', key: '0', numel: 6, offset: 1, size: [2], stride: [3] },
      { name: 'h', storageType: 'HalfStorage', key: '1', numel: 4, offset: 0, size: [4], stride: [1] },
    ])
    const file = join(tmp.dir, 'views.pt')
    writeFileSync(file, makeZip([['my_model/data.pkl', pkl], ['my_model/byteorder', Buffer.from('little')], ['my_model/data/0', storage0], ['my_model/data/1', half]]))
    const ck = await loadCheckpoint(file)
    expect(ck.format).toBe('torch-zip')
    expect([...ck.stateDict.get('w')!.data]).toEqual([0, 1, 2, 3, 4, 5])
    expect(ck.stateDict.get('wT')!.shape).toEqual([3, 2])
    expect([...ck.stateDict.get('wT')!.data]).toEqual([0, 3, 1, 4, 2, 5])
    expect([...ck.stateDict.get('col')!.data]).toEqual([1, 4])
    const h = ck.stateDict.get('h')!
    expect(h.dtype).toBe('float16')
    expect([...h.data]).toEqual([1, -2, 65504, 2 ** -24])
  })

  it('reads zip64 directories and deflated entries (the same tensors either way)', async () => {
    const pkl = tensorDictPickle([{ name: 'w', storageType: 'DoubleStorage', key: '7', numel: 3, offset: 0, size: [3], stride: [1] }])
    const store = new Uint8Array(Float64Array.from([0.25, -8, 1e10]).buffer)
    const entries: [string, Uint8Array][] = [['archive/data.pkl', pkl], ['archive/data/7', store]]
    for (const [tag, opts] of [['z64', { zip64: true }], ['deflate', { deflate: true }], ['both', { zip64: true, deflate: true }]] as const) {
      const file = join(tmp.dir, `${tag}.pt`)
      writeFileSync(file, makeZip(entries, opts))
      const ck = await loadCheckpoint(file)
      expect(ck.stateDict.get('w')!.dtype, tag).toBe('float64')
      expect([...ck.stateDict.get('w')!.data], tag).toEqual([0.25, -8, 1e10])
    }
  })

  it('rejects a view that reaches past its storage: tensor data out of range', async () => {
    const pkl = tensorDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 2, size: [2, 3], stride: [3, 1] }])
    const file = join(tmp.dir, 'oob.pt')
    writeFileSync(file, makeZip([['archive/data.pkl', pkl], ['archive/data/0', f32bytes([0, 1, 2, 3, 4, 5])]]))
    await expect(loadCheckpoint(file)).rejects.toThrow(new RegExp(`${file}: tensor data out of range: w`))
  })
})

describe('bad files give CheckpointErrors naming the path', () => {
  const expectError = async (file: string, pattern: RegExp): Promise<void> => {
    const err = await loadCheckpoint(file).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(CheckpointError)
    expect((err as CheckpointError).file).toBe(file)
    expect((err as Error).message.startsWith(`${file}: `)).toBe(true)
    expect((err as Error).message).toMatch(pattern)
  }

  it('missing file', () => expectError(join(tmp.dir, 'nope.pth'), /file not found/))

  it('zero-byte file', async () => {
    const f = join(tmp.dir, 'empty.pth')
    writeFileSync(f, '')
    await expectError(f, /empty file/)
  })

  it('text file named .pth', async () => {
    const f = join(tmp.dir, 'notes.pth')
    writeFileSync(f, 'these are not weights\n')
    await expectError(f, /unknown checkpoint format.*first bytes: "these are not we"/)
  })

  it('truncated legacy .th (cut inside the pickle and inside the storages)', async () => {
    const bytes = readFileSync(TH)
    const inPickle = join(tmp.dir, 'cut-pickle.th')
    writeFileSync(inPickle, bytes.subarray(0, 5000))
    await expectError(inPickle, /truncated file/)
    const inData = join(tmp.dir, 'cut-data.th')
    writeFileSync(inData, bytes.subarray(0, bytes.length - 1000))
    await expectError(inData, /truncated file: storage \S+ needs \d+ bytes/)
  })

  it('truncated zip .pt', async () => {
    const f = join(tmp.dir, 'cut.pt')
    writeFileSync(f, readFileSync(PT).subarray(0, 500_000))
    await expectError(f, /truncated or damaged zip archive/)
  })

  it('zip without data.pkl', async () => {
    const f = join(tmp.dir, 'nodata.pt')
    writeFileSync(f, makeZip([['archive/data/0', f32bytes([1, 2])], ['archive/version', Buffer.from('3\n')]]))
    await expectError(f, /no <folder>\/data\.pkl entry: not a torch checkpoint/)
  })
})
