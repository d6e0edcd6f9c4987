/**
 * Hostile model files (issue 13, items 3 and 7): every file is crafted here, byte by byte, in a temp dir.
 * Each must be refused with a CheckpointError naming the file, within a few seconds, with bounded memory:
 * RSS, arrayBuffers and the process's peak RSS may grow by less than 32 MB per attack (measured after a GC;
 * the table of growths is printed at the end).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCheckpoint } from '../../../../src/main/engine/io/index'
import { LIMITS, readRegularFile } from '../../../../src/main/engine/io/limits'
import { CheckpointError } from '../../../../src/main/engine/io/types'
import { PickleBuilder, deflatedZeros, f32bytes, makeLegacy, makeZip, makeZipRaw, tempDir, tensorDictPickle } from './fixtures'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const MB = 1024 * 1024
const MAX_GROWTH = 32 * MB
const MAX_MS = 5000
const tmp = tempDir('daft-hostile-')
afterAll(() => tmp.cleanup())

interface Measured { attack: string; bytes: number; rss: number; arrayBuffers: number; peak: number; ms: number; message: string }
const measured: Measured[] = []

afterAll(() => {
  const mb = (x: number): string => (x / MB).toFixed(1)
  const rows = measured.map((m) => `${m.attack.padEnd(44)} ${String(m.bytes).padStart(9)} B  rss ${mb(m.rss).padStart(6)} MB  arrayBuffers ${mb(m.arrayBuffers).padStart(6)} MB  peak ${mb(m.peak).padStart(6)} MB  ${m.ms.toFixed(0).padStart(5)} ms\n    ${m.message}`)
  const worst = measured.reduce((a, m) => (Math.max(m.rss, m.peak, m.arrayBuffers) > Math.max(a.rss, a.peak, a.arrayBuffers) ? m : a), measured[0])
  console.log(`hostile files: growth per attack (largest: ${worst?.attack}, ${mb(Math.max(worst?.rss ?? 0, worst?.peak ?? 0, worst?.arrayBuffers ?? 0))} MB)\n${rows.join('\n')}`)
})

const write = (name: string, bytes: Uint8Array | string): string => {
  const f = join(tmp.dir, name)
  writeFileSync(f, bytes)
  return f
}

/**
 * Run one attack: it must throw a CheckpointError whose message starts with `<errFile>: ` and matches
 * `pattern`, within MAX_MS, growing RSS / arrayBuffers / peak RSS by less than MAX_GROWTH.
 */
async function refused(attack: string, errFile: string, run: () => unknown, pattern: RegExp): Promise<string> {
  const st = statSync(errFile)
  const bytes = st.isFile() ? st.size : 0
  gc()
  const before = process.memoryUsage()
  const peakBefore = process.resourceUsage().maxRSS * 1024
  const t0 = performance.now()
  let err: unknown
  try {
    await run()
  } catch (e) {
    err = e
  }
  const ms = performance.now() - t0
  const after = process.memoryUsage()
  const peak = process.resourceUsage().maxRSS * 1024 - peakBefore
  const message = err instanceof Error ? err.message : String(err)
  measured.push({ attack, bytes, rss: after.rss - before.rss, arrayBuffers: after.arrayBuffers - before.arrayBuffers, peak, ms, message })
  expect(err, attack).toBeInstanceOf(CheckpointError)
  expect((err as CheckpointError).file, attack).toBe(errFile)
  expect(message.startsWith(`${errFile}: `), message).toBe(true)
  expect(message, attack).toMatch(pattern)
  expect(ms, attack).toBeLessThan(MAX_MS)
  expect(after.rss - before.rss, `${attack}: rss growth`).toBeLessThan(MAX_GROWTH)
  expect(after.arrayBuffers - before.arrayBuffers, `${attack}: arrayBuffers growth`).toBeLessThan(MAX_GROWTH)
  expect(peak, `${attack}: peak rss growth`).toBeLessThan(MAX_GROWTH)
  return message
}

/** The opcodes torch emits for one tensor: _rebuild_tensor_v2(persistent storage, offset, size, stride, ...). */
function tensorOps(p: PickleBuilder, t: { storageType: string; key: string; numel: number; offset: number; size: number[]; stride: number[] }): PickleBuilder {
  const intTuple = (xs: number[]): void => { p.mark(); xs.forEach((x) => p.int(x)); p.tuple() }
  p.global('torch._utils', '_rebuild_tensor_v2').mark()
  p.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).tuple().binpersid()
  p.int(t.offset)
  intTuple(t.size)
  intTuple(t.stride)
  p.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce()
  return p.tuple().reduce()
}

const torchZip = (name: string, pkl: Uint8Array, storages: [string, Uint8Array][]): string =>
  write(name, makeZip([['archive/data.pkl', pkl], ...storages.map(([k, b]): [string, Uint8Array] => [`archive/data/${k}`, b])]))

function safetensors(name: string, header: Record<string, unknown>, data: Uint8Array): string {
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  return write(name, Buffer.concat([len, json, data]))
}

/** A TF.js layers model folder: model.json with one manifest group (shards written by the caller). */
function tfjsModel(name: string, paths: string[], weights: unknown[], topology: unknown = { class_name: 'Sequential', config: { layers: [] } }): { dir: string; json: string } {
  const dir = join(tmp.dir, name)
  mkdirSync(dir, { recursive: true })
  const json = join(dir, 'model.json')
  writeFileSync(json, JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths, weights }] }))
  return { dir, json }
}

beforeAll(async () => {
  // warm-up (lazy module state, JIT) and a check that well-formed files of each reader still load
  const pt = torchZip('ok.pt', tensorDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 4, offset: 0, size: [2, 2], stride: [1, 2] }]), [['0', f32bytes([1, 2, 3, 4])]])
  expect([...(await loadCheckpoint(pt)).stateDict.get('w')!.data]).toEqual([1, 3, 2, 4])
  const bcast = torchZip('broadcast.pt', tensorDictPickle([{ name: 'b', storageType: 'FloatStorage', key: '0', numel: 1, offset: 0, size: [3, 4], stride: [0, 0] }]), [['0', f32bytes([7])]])
  expect([...(await loadCheckpoint(bcast)).stateDict.get('b')!.data]).toEqual(Array(12).fill(7)) // small broadcasts stay allowed
  const th = write('ok.th', makeLegacy(tensorDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '5', numel: 2, offset: 0, size: [2], stride: [1] }]), [['5', 2, f32bytes([5, 6])]]))
  expect([...(await loadCheckpoint(th)).stateDict.get('w')!.data]).toEqual([5, 6])
  const st = safetensors('ok.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32bytes([1, 2]))
  expect([...(await loadCheckpoint(st)).stateDict.keys()]).toEqual(['a', 'e', 'b'])
  const m = tfjsModel('ok-tfjs', ['w.bin'], [{ name: 'w', shape: [2], dtype: 'float32' }])
  writeFileSync(join(m.dir, 'w.bin'), f32bytes([3, 4]))
  expect([...(await loadCheckpoint(m.dir)).stateDict.get('w')!.data]).toEqual([3, 4])
  // shards may be symlinks that stay inside the folder, and names may start with '..'
  const l = tfjsModel('ok-links', ['link.bin', '..w.bin'], [{ name: 'a', shape: [1], dtype: 'float32' }, { name: 'b', shape: [1], dtype: 'float32' }])
  mkdirSync(join(l.dir, 'shards'))
  writeFileSync(join(l.dir, 'shards', 'a.bin'), f32bytes([8]))
  symlinkSync(join('shards', 'a.bin'), join(l.dir, 'link.bin'))
  writeFileSync(join(l.dir, '..w.bin'), f32bytes([9]))
  expect([...(await loadCheckpoint(l.dir)).stateDict.values()].map((t) => t.data[0])).toEqual([8, 9])
  gc()
})

describe('hostile torch checkpoints: tensor views', () => {
  it('a stride-0 tensor over a 1-element storage (zip and legacy)', async () => {
    const spec = { name: 'x', storageType: 'FloatStorage', key: '0', numel: 1, offset: 0, size: [8192, 8192], stride: [0, 0] }
    const pt = torchZip('stride0.pt', tensorDictPickle([spec]), [['0', f32bytes([1])]])
    await refused('stride 0 (zip)', pt, () => loadCheckpoint(pt), /tensor 'x' views 67108864 elements of a storage of 1 \(stride \[0,0\], stride 0 repeats elements\)/)
    const th = write('stride0.th', makeLegacy(tensorDictPickle([spec]), [['0', 1, f32bytes([1])]]))
    await refused('stride 0 (legacy)', th, () => loadCheckpoint(th), /tensor 'x' views 67108864 elements of a storage of 1 /)
  })

  it('overlapping strides, negative strides and offsets past the storage', async () => {
    const over = torchZip('overlap.pt', tensorDictPickle([{ name: 'o', storageType: 'FloatStorage', key: '0', numel: 16384, offset: 0, size: [8192, 8192], stride: [1, 1] }]), [['0', new Uint8Array(16384 * 4)]])
    await refused('overlapping strides', over, () => loadCheckpoint(over), /tensor 'o' views 67108864 elements of a storage of 16384 \(stride \[1,1\], overlapping strides\)/)
    const neg = torchZip('negative.pt', tensorDictPickle([{ name: 'n', storageType: 'FloatStorage', key: '0', numel: 4, offset: 3, size: [4], stride: [-1] }]), [['0', f32bytes([1, 2, 3, 4])]])
    await refused('negative stride', neg, () => loadCheckpoint(neg), /tensor n: negative or non-integer size\/stride\/offset/)
    const past = torchZip('offset.pt', tensorDictPickle([{ name: 'p', storageType: 'FloatStorage', key: '0', numel: 4, offset: 2_000_000_000, size: [1], stride: [1] }]), [['0', f32bytes([1, 2, 3, 4])]])
    await refused('offset past the storage', past, () => loadCheckpoint(past), /tensor data out of range: p .* needs element 2000000000 of a storage holding 4/)
  })

  it('many tensors viewing the same storage (each legal alone)', async () => {
    const n = 1 << 18
    const views = Array.from({ length: 64 }, (_, i) => ({ name: `v${i}`, storageType: 'FloatStorage', key: '0', numel: n, offset: 0, size: [n], stride: [1] }))
    const file = torchZip('views.pt', tensorDictPickle(views), [['0', new Uint8Array(n * 4)]])
    await refused('64 views of one 1 MiB storage', file, () => loadCheckpoint(file), /tensor 'v8' would bring the elements materialised to 2359296, more than 2097152 .*too many views of the same data/)
  })
})

describe('hostile pickles: shared references and copies', () => {
  it("metadata referencing one shared list at every level (copied by the key mapping: b^4 values from ~1 KB)", async () => {
    const b = 100
    const p = new PickleBuilder().proto(2).emptyDict().mark().str('meta')
    p.emptyList().binput(0).mark()
    for (let i = 0; i < b; i++) p.int(1)
    p.appends().op(0x30) // L1 = [1] * b, memo 0
    for (const level of [1, 2]) {
      p.emptyList().binput(level).mark()
      for (let i = 0; i < b; i++) p.binget(level - 1)
      p.appends().op(0x30) // L(level+1) = [L(level)] * b
    }
    p.emptyList().mark()
    for (let i = 0; i < b; i++) p.binget(2)
    p.appends() // L4 = [L3] * b: 10^8 values once expanded
    p.str('state_dict').emptyDict().mark().str('w')
    tensorOps(p, { storageType: 'FloatStorage', key: '0', numel: 1, offset: 0, size: [1], stride: [1] })
    p.setitems().setitems().stop()
    const pkl = p.toBuffer()
    const file = torchZip('shared-meta.pt', pkl, [['0', f32bytes([1])]])
    await refused('shared list in metadata (b^4)', file, () => loadCheckpoint(file), /metadata entry 'meta' beside the state dict expands to more than 100000 values by referencing the same lists or dicts again and again/)
  })

  it('an allow-listed callable copying one shared list again and again (torch.Size)', async () => {
    const m = 20_000
    const k = 20_000
    const p = new PickleBuilder().proto(2).global('torch', 'Size').binput(0).op(0x30)
    p.emptyList().mark()
    for (let i = 0; i < m; i++) p.int(1)
    p.appends().tuple1().binput(1).op(0x30) // args = ([1] * m,)
    p.emptyList().mark()
    for (let i = 0; i < k; i++) p.binget(0).binget(1).reduce() // torch.Size(args) copies the list: m * k values
    p.appends().stop()
    const file = write('size-copies.th', makeLegacy(p.toBuffer(), []))
    await refused('torch.Size copies (4e8 values)', file, () => loadCheckpoint(file), /refused to load: the pickle builds more than \d+ values \(references and copies counted\) from a \d+-byte file/)
  })

  it('a list nested 50,000 levels deep', async () => {
    const p = new PickleBuilder().proto(2)
    const n = 50_000
    for (let i = 0; i < n; i++) p.emptyList()
    for (let i = 1; i < n; i++) p.op(0x61) // APPEND
    const file = write('deep.th', makeLegacy(p.stop().toBuffer(), []))
    await refused('nesting 50,000 deep', file, () => loadCheckpoint(file), /nests deeper than 200 levels/)
  })
})

describe('hostile zip archives', () => {
  it('a deflated storage that inflates 1000:1, declared honestly', async () => {
    const bomb = deflatedZeros(77)
    const pkl = tensorDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: bomb.size / 4, offset: 0, size: [bomb.size / 4], stride: [1] }])
    const zip = makeZipRaw([{ name: 'archive/data.pkl', method: 0, body: pkl, size: pkl.length }, { name: 'archive/data/0', method: 8, ...bomb }])
    const file = write('bomb.pt', zip)
    await refused('zip bomb, honest size (77 MiB)', file, () => loadCheckpoint(file), /zip entries declare \d+ bytes uncompressed \(entry archive\/data\/0: 80740352 bytes from \d+ compressed\), more than \d+ \(32 x the archive's \d+ bytes\): refused as a zip bomb/)
  })

  it('a deflated storage that inflates past the size its directory declares', async () => {
    const bomb = deflatedZeros(77)
    const pkl = tensorDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 1, offset: 0, size: [1], stride: [1] }])
    const zip = makeZipRaw([{ name: 'archive/data.pkl', method: 0, body: pkl, size: pkl.length }, { name: 'archive/data/0', method: 8, body: bomb.body, size: 4 }])
    const file = write('bomb-lying.pt', zip)
    await refused('zip bomb, declared 4 bytes', file, () => loadCheckpoint(file), /zip entry archive\/data\/0 inflates past its declared 4 bytes: refused as a zip bomb/)
  })

  it('64 directory entries naming the same 1 MiB of stored data', async () => {
    const n = 1 << 18
    const pkl = tensorDictPickle(Array.from({ length: 64 }, (_, i) => ({ name: `v${i}`, storageType: 'FloatStorage', key: String(i), numel: n, offset: 0, size: [n], stride: [1] })))
    const blob = new Uint8Array(n * 4)
    const zip = makeZipRaw([
      { name: 'archive/data.pkl', method: 0, body: pkl, size: pkl.length },
      { name: 'archive/data/0', method: 0, body: blob, size: blob.length },
      ...Array.from({ length: 63 }, (_, i) => ({ name: `archive/data/${i + 1}`, method: 0 as const, body: blob, size: blob.length, aliasOf: 1 })),
    ])
    const file = write('aliases.pt', zip)
    await refused('64 zip entries over 1 MiB', file, () => loadCheckpoint(file), /zip entries hold \d+ bytes of data in all \(up to entry archive\/data\/1\), more than the archive's \d+ bytes: entries overlap/)
  })
})

describe('hostile safetensors files', () => {
  it('54 entries over the same 1 MiB of data', async () => {
    const header: Record<string, unknown> = {}
    for (let i = 0; i < 54; i++) header[`w${i}`] = { dtype: 'F32', shape: [1 << 18], data_offsets: [0, 1 << 20] }
    const file = safetensors('overlap.safetensors', header, new Uint8Array(1 << 20))
    await refused('safetensors overlapping ranges', file, () => loadCheckpoint(file), /safetensors entries 'w\d+' and 'w\d+' overlap \(w\d+ has data_offsets \[0, 1048576\], the previous entry ends at 1048576\): each tensor must have bytes of its own/)
  })

  it('gaps and trailing bytes', async () => {
    const gap = safetensors('gap.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8))
    await refused('safetensors gap', gap, () => loadCheckpoint(gap), /safetensors entry a starts at byte 4 of the data section, leaving a gap after byte 0/)
    const tail = safetensors('tail.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(1 << 20))
    await refused('safetensors trailing bytes', tail, () => loadCheckpoint(tail), /data section holds 1048576 bytes but the tensors cover only 4/)
  })
})

describe('hostile classifier heads (the class count)', () => {
  it('a zero-element head with a huge first dimension (safetensors and torch zip)', async () => {
    const st = safetensors('head0.safetensors', {
      'conv1.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      'linear.weight': { dtype: 'F32', shape: [1_000_000_000, 0], data_offsets: [4, 4] },
    }, f32bytes([1]))
    await refused('zero-element head (safetensors)', st, () => loadCheckpoint(st), /classifier 'linear\.weight' \(shape \[1000000000,0\]\) holds no weights, so it cannot define 1000000000 classes/)
    const pt = torchZip('head0.pt', tensorDictPickle([{ name: 'module.fc.weight', storageType: 'FloatStorage', key: '0', numel: 0, offset: 0, size: [2_000_000_000, 0], stride: [0, 1] }]), [['0', new Uint8Array(0)]])
    await refused('zero-element head (torch zip)', pt, () => loadCheckpoint(pt), /classifier 'fc\.weight' \(shape \[2000000000,0\]\) holds no weights/)
  })

  it('a head with data but more than 100,000 classes', async () => {
    const st = safetensors('head-big.safetensors', { 'fc.weight': { dtype: 'F32', shape: [200_000, 1], data_offsets: [0, 800_000] } }, new Uint8Array(800_000))
    await refused('200,000-class head', st, () => loadCheckpoint(st), /classifier 'fc\.weight' \(shape \[200000,1\]\) has 200000 outputs; at most 100000 classes are supported/)
  })

  it('a TF.js Dense head whose units disagree with its kernel, or exceed the cap', async () => {
    const dense = (units: number): unknown => ({ class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { name: 'head', units } }] } })
    const a = tfjsModel('tfjs-units', ['w.bin'], [{ name: 'head/kernel', shape: [4, 0], dtype: 'float32' }], dense(1_000_000_000))
    writeFileSync(join(a.dir, 'w.bin'), new Uint8Array(0))
    await refused('TF.js Dense units 1e9', a.json, () => loadCheckpoint(a.dir), /Dense layer 'head' has units 1000000000; supported: 1\.\.100000/)
    const b = tfjsModel('tfjs-empty-kernel', ['w.bin'], [{ name: 'head/kernel', shape: [4, 0], dtype: 'float32' }], dense(5))
    writeFileSync(join(b.dir, 'w.bin'), new Uint8Array(0))
    await refused('TF.js Dense kernel without data', b.json, () => loadCheckpoint(b.dir), /Dense layer 'head' declares units 5 but its weight 'head\/kernel' has shape \[4,0\] and holds no data/)
  })
})

describe('hostile TF.js weight paths', () => {
  const w4 = [{ name: 'w', shape: [4], dtype: 'float32' }]

  it('a shard path leaving the model folder (../../etc/passwd)', async () => {
    const m = tfjsModel('escape', ['../../../../../../etc/passwd'], w4)
    await refused('shard ../../etc/passwd', m.json, () => loadCheckpoint(m.dir), /weight shard \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd resolves to \/etc\/passwd, outside the model's folder .*: refused/)
  })

  it('/dev/zero: as an absolute shard path, through a symlink in the folder, and read directly', async () => {
    const abs = tfjsModel('devzero', ['/dev/zero'], [{ name: 'w', shape: [1 << 28], dtype: 'float32' }])
    await refused('shard /dev/zero', abs.json, () => loadCheckpoint(abs.dir), /weight shard \/dev\/zero resolves to \/dev\/zero, outside the model's folder/)
    const link = tfjsModel('devzero-link', ['zero.bin'], [{ name: 'w', shape: [1 << 28], dtype: 'float32' }])
    symlinkSync('/dev/zero', join(link.dir, 'zero.bin'))
    await refused('shard symlink -> /dev/zero', link.json, () => loadCheckpoint(link.dir), /weight shard zero\.bin resolves to \/dev\/zero, outside the model's folder/)
    await refused('readRegularFile(/dev/zero)', '/dev/zero', () => readRegularFile('/dev/zero'), /file is not a regular file \(character device\)/)
    await refused('loadCheckpoint(/dev/zero)', '/dev/zero', () => loadCheckpoint('/dev/zero'), /not a regular file or folder \(character device\)/)
  })

  it('a FIFO as a weight shard, and as model.json, does not block', { timeout: 15_000 }, async () => {
    const m = tfjsModel('fifo', ['fifo.bin'], w4)
    const fifo = join(m.dir, 'fifo.bin')
    execFileSync('mkfifo', [fifo])
    const jsonDir = join(tmp.dir, 'fifo-json')
    mkdirSync(jsonDir)
    const jsonFifo = join(jsonDir, 'model.json')
    execFileSync('mkfifo', [jsonFifo])
    // dead man's switch: if a reader ever blocked on the FIFOs, these writers would release it after 3 s
    // (the test then fails on time instead of hanging the worker); they give up by themselves after 8 s
    const writers = [fifo, jsonFifo].map((f) => spawn('timeout', ['8', 'sh', '-c', 'sleep 3; printf x > "$0"', f], { stdio: 'ignore' }))
    try {
      await refused('shard FIFO', m.json, () => loadCheckpoint(m.dir), /weight shard fifo\.bin is not a regular file \(FIFO\)/)
      await refused('model.json FIFO', jsonFifo, () => loadCheckpoint(jsonDir), /model\.json is not a regular file \(FIFO\)/)
    } finally {
      for (const w of writers) if (w.exitCode === null && w.pid) process.kill(w.pid)
    }
  })

  it('a directory as a shard, the same shard listed twice', async () => {
    const d = tfjsModel('dir-shard', ['sub'], w4)
    mkdirSync(join(d.dir, 'sub'))
    await refused('shard is a directory', d.json, () => loadCheckpoint(d.dir), /weight shard sub is not a regular file \(directory\)/)
    const twice = tfjsModel('twice', ['w.bin', './w.bin'], [{ name: 'a', shape: [4], dtype: 'float32' }, { name: 'b', shape: [4], dtype: 'float32' }])
    writeFileSync(join(twice.dir, 'w.bin'), new Uint8Array(16))
    await refused('shard listed twice', twice.json, () => loadCheckpoint(twice.dir), /weight shard \.\/w\.bin is listed more than once/)
  })

  it('a 1 GiB (sparse) shard is read only as far as the manifest declares; a 4 GiB one is refused', async () => {
    const m = tfjsModel('huge-shard', ['big.bin'], w4)
    const big = join(m.dir, 'big.bin')
    writeFileSync(big, f32bytes([1, 2, 3, 4]))
    truncateSync(big, 1024 * MB)
    gc()
    const before = process.memoryUsage().rss
    const ck = await loadCheckpoint(m.dir)
    const growth = process.memoryUsage().rss - before
    measured.push({ attack: '1 GiB sparse shard (loads, reads 16 B)', bytes: 1024 * MB, rss: growth, arrayBuffers: 0, peak: 0, ms: 0, message: ck.notes.join('; ') })
    expect([...ck.stateDict.get('w')!.data]).toEqual([1, 2, 3, 4])
    expect(ck.notes.join('\n')).toMatch(/1073741808 trailing bytes ignored/)
    expect(growth).toBeLessThan(MAX_GROWTH)
    truncateSync(big, 4096 * MB)
    await refused('4 GiB sparse shard', m.json, () => loadCheckpoint(m.dir), /weight shard big\.bin is 4294967296 bytes, more than the 2147483647 bytes allowed/)
  })

  it('a manifest declaring more than the absolute cap', async () => {
    const m = tfjsModel('declared', ['w.bin'], [{ name: 'a', shape: [1 << 29], dtype: 'float32' }])
    writeFileSync(join(m.dir, 'w.bin'), new Uint8Array(4))
    await refused('manifest declares 2 GiB', m.json, () => loadCheckpoint(m.dir), new RegExp(`the weights manifest declares more than ${LIMITS.maxFileBytes} bytes of weights \\(at weight a\\)`))
  })
})
