/**
 * The data worker pool: where the worker module is found (built out/main/dataWorker.js, else the TypeScript
 * source through tsx), that both give exactly the main thread's batches, and that a crashed worker is reported.
 * The built half needs `npx electron-vite build` first (`npm test` does it).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../../../helpers/paths'
import { compilePipeline } from '../../../../src/main/engine/data/loader'
import { processBatch, type BatchResult, type SampleJob } from '../../../../src/main/engine/data/batchIo'
import { dataWorkerEntry, DataWorkerPool, WorkerDiedError, workerExecArgv, type DataWorkerEntry } from '../../../../src/main/engine/data/pool'
import { seedState } from '../../../../src/shared/random'
import { makeBadKit, tempDir, writeImage, type BadKit } from './kit'

const SRC_DATA = path.join(ROOT, 'src', 'main', 'engine', 'data')
const OUT_MAIN = path.join(ROOT, 'out', 'main')
const fixture = (name: string): DataWorkerEntry => ({ file: path.join(__dirname, 'fixtures', name), fromSource: true })

const temps: string[] = []
let kit: BadKit
let jobs: SampleJob[]
beforeAll(async () => {
  kit = await makeBadKit()
  temps.push(kit.root)
  const files = [...Object.keys(kit.expected).filter((p) => !p.endsWith('empty') && !p.endsWith('again'))]
  for (let i = 0; i < 6; i++) {
    const f = path.join(kit.root, 'c', `img${i}.${i % 2 ? 'jpg' : 'png'}`)
    await writeImage(f, 20 + 3 * i, 17 + i, i, i % 2 ? 'jpeg' : 'png')
    files.push(f)
  }
  jobs = files.map((p, i) => ({ path: p, label: i % 3, index: i, rng: seedState(4, 'augment', 0, i) }))
})
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

const spec = () =>
  compilePipeline(
    { ops: [{ op: 'resize', size: 24 }, { op: 'randomResizedCrop', size: 16 }, { op: 'horizontalFlip' }, { op: 'colorJitter', brightness: 0.4, hue: 0.1 }], normalize: { preset: 'imagenet' } },
    { pixelLimit: 50_000_000 },
  )

function same(a: BatchResult, b: BatchResult): void {
  expect(Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer))).toBe(true) // byte-identical
  expect([...a.y]).toEqual([...b.y])
  expect([...a.index]).toEqual([...b.index])
  // the failures' reasons (a detail text may differ: libvips keeps one error buffer per process, shared by the decodes in flight)
  const why = (r: BatchResult) => r.failed.map(({ path, index, reason }) => ({ path, index, reason }))
  expect(why(a)).toEqual(why(b))
  expect([a.height, a.width]).toEqual([b.height, b.width])
}

async function runOn(entry: DataWorkerEntry): Promise<BatchResult> {
  const pool = await DataWorkerPool.start(2, { entry })
  try {
    const s = spec()
    const [r1, r2] = await Promise.all([pool.run(s, jobs.slice(0, 7)), pool.run(s, jobs.slice(7))])
    return { ...r1, x: Float32Array.from([...r1.x, ...r2.x]), y: Int32Array.from([...r1.y, ...r2.y]), index: Int32Array.from([...r1.index, ...r2.index]), failed: [...r1.failed, ...r2.failed] }
  } finally {
    await pool.close()
  }
}

async function inThread(): Promise<BatchResult> {
  const s = spec()
  const [r1, r2] = [await processBatch(s, jobs.slice(0, 7)), await processBatch(s, jobs.slice(7))]
  return { ...r1, x: Float32Array.from([...r1.x, ...r2.x]), y: Int32Array.from([...r1.y, ...r2.y]), index: Int32Array.from([...r1.index, ...r2.index]), failed: [...r1.failed, ...r2.failed] }
}

describe('locating the data worker', () => {
  it('from source: dataWorker.ts beside pool.ts, run through tsx', () => {
    expect(dataWorkerEntry()).toEqual({ file: path.join(SRC_DATA, 'dataWorker.ts'), fromSource: true })
  })

  it('built: out/main/dataWorker.js, seen from out/main or from a shared chunk in out/main/chunks', () => {
    if (!fs.existsSync(path.join(OUT_MAIN, 'dataWorker.js'))) throw new Error('run `npx electron-vite build` first (npm test does it)')
    const built = { file: path.join(OUT_MAIN, 'dataWorker.js'), fromSource: false }
    expect(dataWorkerEntry(OUT_MAIN)).toEqual(built)
    expect(dataWorkerEntry(path.join(OUT_MAIN, 'chunks'))).toEqual(built)
  })

  it("a worker gets the parent's Node options without tsx's hooks (it registers tsx itself when it needs it)", () => {
    const tsxArgs = ['--require', '/p/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///p/node_modules/tsx/dist/loader.mjs', '--import=tsx']
    expect(workerExecArgv([...tsxArgs, '--enable-source-maps', '--import', 'file:///p/other.mjs', '--conditions=node'])).toEqual([
      '--enable-source-maps',
      '--import',
      'file:///p/other.mjs',
      '--conditions=node',
    ])
    expect(workerExecArgv([])).toEqual([])
  })

  it('neither: the error names every path it tried', () => {
    const dir = tempDir('daft-noworker-')
    temps.push(dir)
    expect(() => dataWorkerEntry(dir)).toThrow(new RegExp(`${path.join(dir, 'dataWorker.js')}.*${path.join(dir, 'dataWorker.ts')}`))
  })
})

describe('the data worker gives exactly the main thread batches', () => {
  it('from source (tsx inside the worker)', async () => {
    const ref = await inThread()
    expect(ref.y.length).toBe(6) // the generated images; the bad kit's files are reported
    expect(ref.failed.map((f) => f.reason).sort()).toEqual(['corrupt', 'corrupt', 'not-an-image', 'not-an-image', 'symlink-loop', 'too-large', 'unreadable'])
    same(await runOn(dataWorkerEntry()), ref)
  })

  it('built (out/main/dataWorker.js, plain Node)', async () => {
    const entry = dataWorkerEntry(path.join(OUT_MAIN, 'chunks'))
    expect(entry.fromSource).toBe(false)
    same(await runOn(entry), await inThread())
  })
})

describe('a worker that fails is reported', () => {
  it('a crash during a batch rejects it with WorkerDiedError and breaks the pool', async () => {
    const pool = await DataWorkerPool.start(1, { entry: fixture('crashWorker.ts') })
    try {
      const err = await pool.run(spec(), jobs.slice(0, 2)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WorkerDiedError)
      expect((err as Error).message).toMatch(/data worker crashed: boom in the data worker/)
      expect(pool.broken).toMatch(/boom/)
      await expect(pool.run(spec(), jobs.slice(0, 2))).rejects.toBeInstanceOf(WorkerDiedError)
    } finally {
      await pool.close()
    }
  })

  it('a worker that exits before it is ready fails the start, naming the exit code', async () => {
    await expect(DataWorkerPool.start(2, { entry: fixture('exitWorker.ts') })).rejects.toThrow(/exited \(code 3\) before it started/)
  })

  it('a worker module that cannot load fails the start', async () => {
    await expect(DataWorkerPool.start(1, { entry: { file: path.join(tempDir('daft-gone-'), 'dataWorker.js'), fromSource: false } })).rejects.toThrow(/Cannot find module/)
  })
})
