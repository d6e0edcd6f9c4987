/**
 * Folder walks confined to the dataset (issue 13, item 4): links that leave the dataset root are skipped
 * and reported, the walk reads at most maxEntries entries, and the async walk keeps the event loop free.
 * Real folders in temp dirs; real decoded images copied from the shared digits set.
 */
import fs from 'node:fs'
import path from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DIGITS } from '../../../helpers/paths'
import { importDataset, indexImageFolder } from '../../../../src/main/engine/data'
import { indexImageFolderAsync } from '../../../../src/main/engine/data/folder'
import { byName, sortYielding, TooManyEntriesError } from '../../../../src/main/engine/data/walk'
import { tempDir } from './kit'

const temps: string[] = []
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

/** The first `n` real USPS images of class `cls`, copied into `dir`. */
function copyDigits(dir: string, cls: string, n: number): string[] {
  const src = path.join(DIGITS, 'usps', 'train', cls)
  fs.mkdirSync(dir, { recursive: true })
  return fs
    .readdirSync(src)
    .sort(byName)
    .slice(0, n)
    .map((f) => {
      fs.copyFileSync(path.join(src, f), path.join(dir, f))
      return path.join(dir, f)
    })
}

describe('links out of the dataset root', () => {
  // <base>/ds is the dataset; <base>/outside holds images the links point at
  let base: string
  let ds: string
  let outside: string
  beforeAll(() => {
    base = fs.realpathSync(tempDir('daft-confine-'))
    temps.push(base)
    ds = path.join(base, 'ds')
    outside = path.join(base, 'outside')
    copyDigits(path.join(ds, '0'), '0', 3)
    copyDigits(path.join(ds, '1'), '1', 3)
    const secret = copyDigits(path.join(outside, 'secret'), '7', 4)
    // a file link and a nested folder link leaving the root
    fs.symlinkSync(secret[0], path.join(ds, '0', 'z-file-link.png'))
    fs.symlinkSync(path.join(outside, 'secret'), path.join(ds, '1', 'nested-dir-link'))
    // a whole class folder linked out of the root
    fs.symlinkSync(path.join(outside, 'secret'), path.join(ds, '7'))
    // a relative link that climbs out
    fs.symlinkSync('../../outside/secret/' + path.basename(secret[1]), path.join(ds, '0', 'z-relative.png'))
    // links that stay inside the root are still followed
    fs.symlinkSync(path.join(ds, '1'), path.join(ds, '0', 'inside-dir-link'))
    fs.symlinkSync('../1/' + fs.readdirSync(path.join(ds, '1')).sort(byName)[0], path.join(ds, '0', 'inside-file-link.png'))
  })

  const leaving = (): Record<string, string> => ({
    [path.join(ds, '0', 'z-file-link.png')]: `link leaves the dataset folder: ${path.join(outside, 'secret')}/`,
    [path.join(ds, '0', 'z-relative.png')]: `link leaves the dataset folder: ${path.join(outside, 'secret')}/`,
    [path.join(ds, '1', 'nested-dir-link')]: `link leaves the dataset folder: ${path.join(outside, 'secret')}`,
    // met again through the (inside) folder link 0/inside-dir-link -> 1
    [path.join(ds, '0', 'inside-dir-link', 'nested-dir-link')]: `link leaves the dataset folder: ${path.join(outside, 'secret')}`,
    [path.join(ds, '7')]: `link leaves the dataset folder: ${path.join(outside, 'secret')}`,
  })

  it('skips a link to a file and to a folder outside, and reports each with its target', async () => {
    const imp = await importDataset(ds, { verify: 'decode', valFraction: 0 })
    expect(imp.classes).toEqual(['0', '1']) // class '7' (a link out) is not a class
    const all = imp.splits.train!
    for (const s of all) expect(fs.realpathSync(s.path).startsWith(ds + path.sep)).toBe(true)
    // 3 own + 3 through the inside folder link + 1 inside file link; 3 in class 1
    expect(imp.report.splits.train.perClass).toEqual({ '0': 7, '1': 3 })
    const out = imp.report.skipped.filter((s) => s.detail.startsWith('link leaves the dataset folder'))
    expect(out.map((s) => s.path).sort(byName)).toEqual(Object.keys(leaving()).sort(byName))
    for (const s of out) {
      expect(s.reason).toBe('outside-root')
      expect(s.detail.startsWith(leaving()[s.path])).toBe(true)
      expect(s.split).toBe('train')
    }
    expect(JSON.stringify(imp.report)).not.toContain('secret/' + path.basename(fs.readdirSync(path.join(outside, 'secret')).sort(byName)[2]))
  })

  it('gives the same index synchronously and asynchronously', async () => {
    const a = indexImageFolder(ds)
    const b = await indexImageFolderAsync(ds)
    expect(b).toEqual(a)
    expect(a.files.some((f) => f.path.includes('nested-dir-link'))).toBe(false)
  })

  it('confines a split folder to the dataset root, and allows links between splits', async () => {
    const root = path.join(base, 'splits')
    copyDigits(path.join(root, 'train', '0'), '0', 2)
    copyDigits(path.join(root, 'train', '1'), '1', 2)
    copyDigits(path.join(root, 'test', '0'), '0', 1)
    fs.mkdirSync(path.join(root, 'test', '1'))
    fs.symlinkSync(path.join(root, 'train', '1'), path.join(root, 'test', '1', 'from-train')) // inside: followed
    fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'val')) // a split folder linked out
    const imp = await importDataset(root, { verify: 'header', valFraction: 0 })
    expect(imp.layout).toBe('splits')
    expect(imp.report.splits.test.perClass).toEqual({ '0': 1, '1': 2 })
    expect(imp.splits.val).toBeUndefined()
    const val = imp.report.skipped.find((s) => s.path === path.join(root, 'val'))
    expect(val).toMatchObject({ reason: 'outside-root', split: 'val', detail: `link leaves the dataset folder: ${path.join(outside, 'secret')}` })
  })

  it('still reports symlink loops as loops', async () => {
    const root = path.join(base, 'loops')
    copyDigits(path.join(root, 'a'), '3', 1)
    fs.symlinkSync('self.png', path.join(root, 'a', 'self.png'))
    fs.symlinkSync('..', path.join(root, 'a', 'up'))
    const idx = await indexImageFolderAsync(root)
    expect(Object.fromEntries(idx.skipped.map((s) => [path.basename(s.path), s.reason]))).toEqual({ 'self.png': 'symlink-loop', up: 'symlink-loop' })
  })
})

describe('entry cap', () => {
  let root: string
  beforeAll(() => {
    root = fs.realpathSync(tempDir('daft-cap-'))
    temps.push(root)
    for (const c of ['a', 'b', 'c']) {
      fs.mkdirSync(path.join(root, c))
      for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(root, c, `f${String(i).padStart(2, '0')}.png`), 'x')
    }
  })

  it('stops with an error naming the dataset folder and where the walk stopped', async () => {
    const err = await indexImageFolderAsync(root, { maxEntries: 100 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TooManyEntriesError)
    expect((err as Error).message).toBe(
      `${root}: more than 100 entries (files and folders) under the dataset folder; the walk stopped in ${path.join(root, 'b')}. Import a smaller folder (or raise maxEntries).`,
    )
    expect(() => indexImageFolder(root, { maxEntries: 100 })).toThrow((err as Error).message)
    await expect(importDataset(root, { verify: 'none', maxEntries: 120 })).rejects.toThrow(`${root}: more than 120 entries`)
    // at the cap exactly: fine (3 class folders + 150 files)
    expect((await indexImageFolderAsync(root, { maxEntries: 153 })).entries).toBe(153)
    expect((await importDataset(root, { verify: 'none', valFraction: 0, maxEntries: 153 })).splits.train).toHaveLength(150)
  })

  it('counts every split of an import against one cap', async () => {
    const split = path.join(root, '..', path.basename(root) + '-splits')
    temps.push(split)
    for (const s of ['train', 'test']) for (const c of ['a', 'b']) {
      fs.mkdirSync(path.join(split, s, c), { recursive: true })
      for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(split, s, c, `${i}.png`), 'x')
    }
    // each split alone has 42 entries; together 84
    await expect(importDataset(split, { verify: 'none', maxEntries: 60 })).rejects.toThrow(`${split}: more than 60 entries`)
    expect((await importDataset(split, { verify: 'none', maxEntries: 84 })).report.splits.test.total).toBe(40)
  })
})

describe('event loop during a big walk', () => {
  // 17,000 one-byte .png files in one class folder (beyond the one-go sort) + 3 classes of 10 sub-folders x 100
  let root: string
  const N = 17_000 + 3 * 1000
  beforeAll(() => {
    root = fs.realpathSync(tempDir('daft-bigwalk-'))
    temps.push(root)
    fs.mkdirSync(path.join(root, 'big'))
    for (let i = 0; i < 17_000; i++) fs.writeFileSync(path.join(root, 'big', `img${(i * 7919) % 17_000}.png`), 'x')
    for (const c of ['c1', 'c2', 'c3'])
      for (let d = 0; d < 10; d++) {
        fs.mkdirSync(path.join(root, c, `d${d}`), { recursive: true })
        for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(root, c, `d${d}`, `${i}.png`), 'x')
      }
  }, 120_000)

  /** Runs `fn` while a 1 ms interval timer records the longest gap between its ticks (and GC records its pauses). */
  async function longestGap<T>(fn: () => Promise<T>): Promise<{ gap: number; result: T; ms: number; gc: number }> {
    let last = performance.now()
    let gap = 0
    let gc = 0
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gc = Math.max(gc, e.duration)
    })
    obs.observe({ entryTypes: ['gc'] })
    const timer = setInterval(() => {
      const now = performance.now()
      gap = Math.max(gap, now - last)
      last = now
    }, 1)
    await new Promise((r) => setTimeout(r, 5))
    last = performance.now()
    const t0 = performance.now()
    try {
      const result = await fn()
      const ms = performance.now() - t0
      gap = Math.max(gap, performance.now() - last)
      await new Promise((r) => setImmediate(r)) // let the observer report
      return { gap, result, ms, gc }
    } finally {
      clearInterval(timer)
      obs.disconnect()
    }
  }

  /**
   * Best of up to 3 attempts: code that holds the event loop does so on every attempt, while a busy 2-core
   * machine (a training job, parallel test files) can deschedule the whole process now and then. The idle
   * baseline, measured the same way, shows how much of a gap is the machine's.
   */
  async function bestGap<T>(label: string, fn: () => Promise<T>): Promise<{ gap: number; result: T; ms: number }> {
    const idle = await longestGap(() => new Promise((r) => setTimeout(r, 300)))
    const tries: { gap: number; result: T; ms: number; gc: number }[] = []
    for (let i = 0; i < 3; i++) {
      tries.push(await longestGap(fn))
      if (tries[i].gap < 50) break
    }
    const best = tries.reduce((a, b) => (b.gap < a.gap ? b : a))
    console.log(`${label}: ${best.ms.toFixed(0)} ms; longest event-loop gap ${tries.map((t) => t.gap.toFixed(1)).join(' / ')} ms (longest GC pause ${tries.map((t) => t.gc.toFixed(1)).join(' / ')} ms; idle baseline ${idle.gap.toFixed(1)} ms)`)
    return best
  }

  it('keeps the longest event-loop gap under 100 ms while indexing 20,000 files', async () => {
    const { gap, result } = await bestGap(`async index of ${N} files`, () => indexImageFolderAsync(root))
    expect(result.entries).toBe(N + 4 + 30)
    expect(result.files).toHaveLength(N)
    expect(result.classes).toEqual(['big', 'c1', 'c2', 'c3'])
    // for scale: the synchronous walk of the same tree holds the event loop from start to end
    const sync = await longestGap(async () => indexImageFolder(root))
    expect(sync.result).toEqual(result)
    console.log(`sync index of ${N} files: holds the event loop ${sync.gap.toFixed(0)} ms`)
    expect(gap).toBeLessThan(100)
  }, 120_000)

  it('keeps the longest event-loop gap under 100 ms during a whole import', async () => {
    // verify none: names and sizes only (the files are not images); a held-out val split of 10 %
    const { gap, result } = await bestGap(`import of ${N} files`, () => importDataset(root, { verify: 'none', valFraction: 0.1 }))
    expect(result.splits.train!.length + result.splits.val!.length).toBe(N)
    expect(gap).toBeLessThan(100)
  }, 120_000)
})

describe('sortYielding', () => {
  it('sorts like Array.prototype.sort (stable, code-point order) across many runs', async () => {
    const items = Array.from({ length: 50_000 }, (_, i) => ({ k: `n${(i * 104729) % 3001}`, i }))
    const cmp = (a: { k: string }, b: { k: string }): number => byName(a.k, b.k)
    expect(await sortYielding(items, cmp)).toEqual([...items].sort(cmp))
  })
})
