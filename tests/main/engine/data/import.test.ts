import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SHARED_DATA } from '../../../helpers/paths'
import { alignClasses, importDataset, indexImageFolder, stratifiedSplit } from '../../../../src/main/engine/data'
import { makeBadKit, tempDir, type BadKit } from './kit'

const CIFAR = path.join(SHARED_DATA, 'cifar10-jpeg')
const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
const temps: string[] = []
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

describe('indexImageFolder / importDataset on cifar10-jpeg', () => {
  it('indexes train as 10 sorted classes x 1,000 files', () => {
    const idx = indexImageFolder(path.join(CIFAR, 'train'))
    expect(idx.classes).toEqual(CIFAR_CLASSES)
    expect(idx.files).toHaveLength(10_000)
    expect(idx.skipped).toEqual([])
    for (const c of CIFAR_CLASSES) expect(idx.files.filter((f) => f.className === c)).toHaveLength(1000)
    expect(idx.files.every((f) => path.basename(path.dirname(f.path)) === f.className)).toBe(true)
  })

  it('detects the split layout, holds out a stratified val set and reports counts', async () => {
    const imp = await importDataset(CIFAR, { verify: 'none', valFraction: 0.2, seed: 5 })
    expect(imp.layout).toBe('splits')
    expect(imp.classes).toEqual(CIFAR_CLASSES)
    expect(imp.splits.train).toHaveLength(8000)
    expect(imp.splits.val).toHaveLength(2000)
    expect(imp.splits.test).toHaveLength(10_000)
    for (const c of CIFAR_CLASSES) {
      expect(imp.report.splits.train.perClass[c]).toBe(800)
      expect(imp.report.splits.val.perClass[c]).toBe(200)
      expect(imp.report.splits.test.perClass[c]).toBe(1000)
    }
    const trainPaths = new Set(imp.splits.train!.map((s) => s.path))
    expect(imp.splits.val!.some((s) => trainPaths.has(s.path))).toBe(false)
    for (const s of imp.splits.test!) expect(imp.classes[s.label]).toBe(path.basename(path.dirname(s.path)))
    expect(imp.report.valFrom).toEqual({ split: 'train', fraction: 0.2, seed: 5 })
    expect(JSON.parse(JSON.stringify(imp.report))).toEqual(imp.report)
    // same seed -> same split; other seed -> another split
    const again = await importDataset(CIFAR, { verify: 'none', valFraction: 0.2, seed: 5 })
    expect(again.splits.val!.map((s) => s.path)).toEqual(imp.splits.val!.map((s) => s.path))
    const other = await importDataset(CIFAR, { verify: 'none', valFraction: 0.2, seed: 6 })
    expect(other.splits.val!.map((s) => s.path)).not.toEqual(imp.splits.val!.map((s) => s.path))
  })

  it('summarises image sizes from headers', async () => {
    const imp = await importDataset(path.join(SHARED_DATA, 'digits', 'usps'), { verify: 'header', valFraction: 0 })
    const sizes = imp.report.sizes!
    expect(sizes.count).toBe(7291 + 2007)
    expect(sizes.common[0]).toEqual({ width: 16, height: 16, count: 7291 + 2007 })
    expect(sizes.formats).toEqual({ png: 9298 })
    expect(sizes.channels).toEqual({ '1': 9298 })
  })
})

describe('class alignment', () => {
  it('aligns an OOD set with missing classes by name (cifar10-png-samples: no bird, no deer)', async () => {
    const ood = await importDataset(path.join(SHARED_DATA, 'cifar10-png-samples'), { role: 'ood', classes: CIFAR_CLASSES, verify: 'decode' })
    expect(ood.classes).toEqual(CIFAR_CLASSES)
    expect(ood.splits.test).toHaveLength(20)
    expect(ood.report.alignment?.missing).toEqual(['bird', 'deer'])
    expect(ood.report.alignment?.dropped).toEqual([])
    for (const s of ood.splits.test!) expect(s.label).toBe(CIFAR_CLASSES.indexOf(s.className))
    expect(ood.report.splits.test.perClass.bird).toBe(0)
  })

  it('drops an extra class with a note, and honours an explicit mapping', async () => {
    const src = path.join(SHARED_DATA, 'cifar10-png-samples', 'test')
    const root = tempDir()
    temps.push(root)
    // copies, not links: a class folder linked out of the dataset root is skipped (see confinement.test.ts)
    for (const c of ['airplane', 'cat', 'ship']) fs.cpSync(path.join(src, c), path.join(root, c === 'airplane' ? 'plane' : c), { recursive: true })
    fs.cpSync(path.join(src, 'dog'), path.join(root, 'monkey'), { recursive: true })
    const ood = await importDataset(root, { role: 'ood', classes: CIFAR_CLASSES, mapping: { plane: 'airplane' } })
    expect(ood.report.alignment?.dropped).toEqual(['monkey'])
    expect(ood.report.alignment?.renamed).toEqual({ plane: 'airplane' })
    expect(ood.report.notes.join('\n')).toMatch(/'monkey' is not an ID class/)
    expect(ood.splits.test!.some((s) => s.className === 'monkey')).toBe(false)
    const planes = ood.splits.test!.filter((s) => s.className === 'plane')
    expect(planes.length).toBeGreaterThan(0)
    expect(planes.every((s) => s.label === 0)).toBe(true)
    expect(() => alignClasses(CIFAR_CLASSES, ['plane'], { plane: 'aeroplane' })).toThrow(/'aeroplane' is not an ID class/)
    expect(alignClasses(['a', 'b'], ['B', 'c']).labelOf).toEqual({ B: 1, c: -1 })
  })
})

describe('stratifiedSplit', () => {
  it('takes the fraction from each class and is seeded', () => {
    const samples = Array.from({ length: 103 }, (_, i) => ({ label: i < 3 ? 2 : i % 2, id: i }))
    const { train, val } = stratifiedSplit(samples, 0.25, 1)
    expect(train.length + val.length).toBe(103)
    expect(val.filter((s) => s.label === 0)).toHaveLength(13) // round(50 * 0.25)
    expect(val.filter((s) => s.label === 1)).toHaveLength(13)
    expect(val.filter((s) => s.label === 2)).toHaveLength(1) // round(0.75) = 1
    expect(stratifiedSplit(samples, 0.25, 1).val).toEqual(val)
    expect(stratifiedSplit(samples, 0.25, 2).val).not.toEqual(val)
    expect(() => stratifiedSplit(samples, 1, 0)).toThrow(/fraction/)
  })
})

describe('bad-file kit', () => {
  let kit: BadKit
  it('reports every bad entry with its reason and keeps the good files', async () => {
    kit = await makeBadKit()
    temps.push(kit.root)
    const imp = await importDataset(kit.root, { verify: 'decode', valFraction: 0, pixelLimit: 50_000_000 })
    expect(imp.classes).toEqual(['a', 'b'])
    expect(imp.report.splits.train.perClass).toEqual(kit.good)
    const got = Object.fromEntries(imp.report.skipped.map((s) => [s.path, s.reason]))
    expect(got).toEqual(kit.expected)
    for (const s of imp.report.skipped) expect(s.detail.length).toBeGreaterThan(3)
    expect(JSON.parse(JSON.stringify(imp.report)).skipped).toHaveLength(Object.keys(kit.expected).length)
  })

  it('header verification also catches the bomb and the fake PNG without decoding', async () => {
    const imp = await importDataset(kit.root, { verify: 'header', valFraction: 0 })
    const got = Object.fromEntries(imp.report.skipped.map((s) => [s.path, s.reason]))
    for (const [p, reason] of Object.entries(kit.expected)) {
      if (p.endsWith('truncated.jpg')) continue // a truncated body can pass a header check
      expect(got[p]).toBe(reason)
    }
  })

  it('names the folder when the root is unusable', async () => {
    await expect(importDataset(path.join(kit.root, 'nope'))).rejects.toThrow(/nope: cannot read dataset folder/)
    await expect(importDataset(path.join(kit.root, 'empty'))).rejects.toThrow(/empty: no class folder/)
  })
})
