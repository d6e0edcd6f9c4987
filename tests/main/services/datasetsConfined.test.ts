/**
 * Dataset operations confined to the dataset (issue 13, item 4), through the services serve mode exposes:
 * datasets.preview takes only the dataset's own split names (a traversing split is refused and lists
 * nothing), perClass / id are validated, links out of the root are skipped and reported on import, the
 * entry cap surfaces as an API error, and models.shift takes only the dataset's splits.
 * Real folders in a temp dir with real USPS images copied from the shared digits set; a real store.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../../src/shared/api'
import type { DatasetDetail } from '../../../src/shared/types'
import { createServices, type ServiceContext, type Services } from '../../../src/main/services'
import { importDatasetService, previewDataset } from '../../../src/main/services/datasets'
import { ensureDemoProject } from '../../../src/main/services/projects'
import { EventHub } from '../../../src/main/services/events'
import { openStore, type Db } from '../../../src/main/store/db'
import { saveModel, type ModelInfo } from '../../../src/main/store/catalog'
import { DIGITS } from '../../helpers/paths'

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'daft-confined-')))
afterAll(() => {
  db?.close()
  fs.rmSync(base, { recursive: true, force: true })
})

/** Copies the first `n` real USPS training images of `cls` into `dir`. */
function copyDigits(dir: string, cls: string, n: number): string[] {
  const src = path.join(DIGITS, 'usps', 'train', cls)
  fs.mkdirSync(dir, { recursive: true })
  return fs
    .readdirSync(src)
    .sort()
    .slice(0, n)
    .map((f) => {
      fs.copyFileSync(path.join(src, f), path.join(dir, f))
      return path.join(dir, f)
    })
}

/** The ApiError a call rejects with (fails the test if it resolves or throws anything else). */
async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  )
  expect(e).toBeInstanceOf(ApiError)
  return e as ApiError
}

let db: Db
let s: Services
let projectId: number
const engineCalls: { op: string; req: Record<string, unknown> }[] = []
// base/data/sets/<dataset>; the attacker's folder is base/probe/outside (three levels up from a dataset root)
const sets = path.join(base, 'data', 'sets')
const outside = path.join(base, 'probe', 'outside')
let splitsDs: DatasetDetail
let flatDs: DatasetDetail
let linkedDs: DatasetDetail

beforeAll(async () => {
  db = openStore(path.join(base, 'store'))
  projectId = ensureDemoProject(db)
  const fakeEngine = {
    request: async (op: string, req: Record<string, unknown>) => {
      engineCalls.push({ op, req })
      return { split: req.split, samples: 0 }
    },
  }
  s = createServices({
    db,
    engine: fakeEngine,
    runner: {},
    events: new EventHub(),
    dataDir: path.join(base, 'store'),
    mode: 'serve',
    version: 'test',
    imageRoots: [],
    resourcesDir: base,
  } as unknown as ServiceContext)

  for (const c of ['0', '1', '2']) {
    copyDigits(path.join(sets, 'digits-splits', 'train', c), c, 4)
    copyDigits(path.join(sets, 'digits-splits', 'test', c), c, 1)
    copyDigits(path.join(sets, 'flat', c), c, 3)
  }
  const secret = copyDigits(path.join(outside, '5'), '5', 3)
  // a dataset with a file link and a class-folder link out of its root
  copyDigits(path.join(sets, 'linked', '0'), '0', 2)
  fs.symlinkSync(secret[0], path.join(sets, 'linked', '0', 'evil.png'))
  fs.symlinkSync(path.join(outside, '5'), path.join(sets, 'linked', '5'))

  splitsDs = await s['datasets.import']({ projectId, root: path.join(sets, 'digits-splits'), valFraction: 0.25 })
  flatDs = await s['datasets.import']({ projectId, root: path.join(sets, 'flat'), valFraction: 0.34 })
  linkedDs = await s['datasets.import']({ projectId, root: path.join(sets, 'linked'), valFraction: 0 })
}, 60_000)

describe('datasets.preview: split', () => {
  it('refuses a traversing split, names the allowed splits and lists nothing outside', async () => {
    expect(Object.keys(splitsDs.report.splits).sort()).toEqual(['test', 'train', 'val'])
    const e = await apiError(s['datasets.preview']({ id: splitsDs.id, split: '../../../probe/outside', perClass: 8 }))
    expect(e.code).toBe('bad_request')
    expect(e.message).toBe(`split: one of 'train', 'test', 'val' for dataset ${splitsDs.id} (digits-splits); got "../../../probe/outside"`)
    expect(e.message).not.toContain(outside)
  })

  it('refuses a split that would walk a big system folder at once, without walking it', async () => {
    const t0 = performance.now()
    const e = await apiError(s['datasets.preview']({ id: splitsDs.id, split: '../../../../usr/share', perClass: 8 }))
    expect(e.code).toBe('bad_request')
    expect(performance.now() - t0).toBeLessThan(50)
  })

  it.each([['/etc'], ['train/../../..'], ['train/0'], ['./train'], ['TRAIN'], [''], ['__proto__'], ['constructor']])('refuses split %j', async (split) => {
    const e = await apiError(s['datasets.preview']({ id: splitsDs.id, split, perClass: 8 }))
    expect(e.code).toBe('bad_request')
    expect(e.message).toMatch(/^split: one of 'train', 'test', 'val' /)
  })

  it('refuses a split that is not text', async () => {
    for (const split of [undefined, null, 5, ['train'], { split: 'train' }]) {
      const e = await apiError(s['datasets.preview']({ id: splitsDs.id, split: split as never, perClass: 8 }))
      expect(e.code).toBe('bad_request')
    }
  })

  it("previews each of the dataset's own splits from inside its root", async () => {
    const train = await s['datasets.preview']({ id: splitsDs.id, split: 'train', perClass: 2 })
    expect(train.map((r) => r.className)).toEqual(['0', '0', '1', '1', '2', '2'])
    for (const r of train) expect(r.path.startsWith(path.join(splitsDs.root, 'train') + path.sep)).toBe(true)
    expect(train.map((r) => r.label)).toEqual([0, 0, 1, 1, 2, 2])
    const test = await s['datasets.preview']({ id: splitsDs.id, split: 'test', perClass: 64 })
    expect(test).toHaveLength(3)
    for (const r of test) expect(r.path.startsWith(path.join(splitsDs.root, 'test') + path.sep)).toBe(true)
    // val was held out of train (no val folder): previewed from the train folder
    const val = await s['datasets.preview']({ id: splitsDs.id, split: 'val', perClass: 1 })
    expect(val.map((r) => r.path)).toEqual(train.filter((_, i) => i % 2 === 0).map((r) => r.path))
  })

  it('a flat ImageFolder answers to its implicit split (and its held-out val) only', async () => {
    expect(Object.keys(flatDs.report.splits).sort()).toEqual(['train', 'val'])
    expect(await s['datasets.preview']({ id: flatDs.id, split: 'train', perClass: 3 })).toHaveLength(9)
    expect(await s['datasets.preview']({ id: flatDs.id, split: 'val', perClass: 1 })).toHaveLength(3)
    const e = await apiError(s['datasets.preview']({ id: flatDs.id, split: 'test', perClass: 3 }))
    expect(e.message).toBe(`split: one of 'train', 'val' for dataset ${flatDs.id} (flat); got "test"`)
  })

  it('refuses a dataset whose root was replaced by a link', async () => {
    const root = path.join(sets, 'swapped')
    copyDigits(path.join(root, '3'), '3', 2)
    const d = await importDatasetService(db, { projectId, root, name: 'swapped' })
    fs.renameSync(root, root + '-moved')
    fs.symlinkSync(outside, root)
    const e = await apiError(previewDataset(db, { id: d.id, split: 'train', perClass: 8 }))
    expect(e.code).toBe('forbidden')
    expect(e.message).toBe(`${root}: the dataset folder now resolves to ${outside}; import it again`)
  })
})

describe('datasets.preview: perClass and id', () => {
  it.each([[0], [65], [2.5], [-1], ['8'], [Number.NaN], [Infinity], [undefined], [null]])('refuses perClass %j', async (perClass) => {
    const e = await apiError(s['datasets.preview']({ id: splitsDs.id, split: 'train', perClass: perClass as never }))
    expect(e.code).toBe('bad_request')
    expect(e.message).toMatch(/^perClass: an integer from 1 to 64 \(got /)
  })

  it('accepts 1 and 64', async () => {
    expect(await s['datasets.preview']({ id: splitsDs.id, split: 'train', perClass: 1 })).toHaveLength(3)
    expect(await s['datasets.preview']({ id: splitsDs.id, split: 'train', perClass: 64 })).toHaveLength(12) // the train folder holds 4 per class
  })

  it('refuses an id that is not an integer (the request schema, field by field), and an unknown id', async () => {
    for (const id of ['1', 1.5, null, undefined, { id: 1 }]) {
      const e = await apiError(s['datasets.preview']({ id: id as never, split: 'train', perClass: 8 }))
      expect(e.code).toBe('bad_request')
      expect(e.message).toMatch(/^id: expected an integer id \(got /)
      expect(e.issues).toEqual([{ path: 'id', message: expect.stringMatching(/^expected an integer id \(got /) }])
    }
    // every wrong field at once, each named
    const all = await apiError(s['datasets.preview']({ id: '1', split: 5, perClass: 0 } as never))
    expect(all.issues?.map((i) => i.path)).toEqual(['id', 'split', 'perClass'])
    expect((await apiError(s['datasets.preview']({ id: 987654, split: 'train', perClass: 8 }))).code).toBe('not_found')
  })
})

describe('datasets.import: links and the entry cap', () => {
  it('skips a file link and a class-folder link that leave the root, and reports them with their targets', async () => {
    expect(linkedDs.classes).toEqual(['0'])
    expect(linkedDs.report.splits.train.perClass).toEqual({ '0': 2 })
    const leaving = linkedDs.report.skipped.filter((x) => x.detail.startsWith('link leaves the dataset folder: '))
    expect(leaving.map((x) => [path.relative(linkedDs.root, x.path), x.reason, x.detail])).toEqual([
      [path.join('0', 'evil.png'), 'outside-root', `link leaves the dataset folder: ${fs.realpathSync(path.join(sets, 'linked', '0', 'evil.png'))}`],
      ['5', 'outside-root', `link leaves the dataset folder: ${path.join(outside, '5')}`],
    ])
    const refs = await s['datasets.preview']({ id: linkedDs.id, split: 'train', perClass: 64 })
    expect(refs).toHaveLength(2)
    for (const r of refs) expect(fs.realpathSync(r.path).startsWith(linkedDs.root + path.sep)).toBe(true)
  })

  it('refuses a folder over the entry cap with an error naming it', async () => {
    const root = path.join(sets, 'digits-splits')
    const e = await apiError(importDatasetService(db, { projectId, root, name: 'capped' }, { maxEntries: 10 }))
    expect(e.code).toBe('too_many_entries')
    expect(e.message).toMatch(new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: more than 10 entries \\(files and folders\\) under the dataset folder; the walk stopped in `))
  })

  it('validates valFraction and name', async () => {
    const root = path.join(sets, 'flat')
    for (const valFraction of [1, -0.1, '0.1', Number.NaN]) {
      const e = await apiError(s['datasets.import']({ projectId, root, valFraction: valFraction as never }))
      expect(e.code).toBe('bad_request')
      expect(e.message).toMatch(/^valFraction: /)
    }
    expect((await apiError(s['datasets.import']({ projectId, root, name: 5 as never }))).code).toBe('bad_request')
  })
})

describe('models.shift: split', () => {
  let modelId: number
  beforeAll(() => {
    const info = { path: path.join(base, 'model.th'), arch: 'resnet20', format: 'torch-legacy', preprocessing: { inputSize: [32, 32], normalize: 'imagenet' } }
    modelId = saveModel(db, projectId, 'm', info as unknown as ModelInfo).id
  })

  it("refuses anything but the dataset's own splits, before the engine is asked", async () => {
    engineCalls.length = 0
    for (const split of ['../../../probe/outside', '/usr/share', 'test/0']) {
      const e = await apiError(s['models.shift']({ modelId, datasetId: flatDs.id, split }))
      expect(e.code).toBe('bad_request')
      expect(e.message).toMatch(new RegExp(`^split: one of 'train', 'val' for dataset ${flatDs.id} \\(flat\\); got `))
    }
    // not text: refused by the request schema before the dataset is looked at
    const notText = await apiError(s['models.shift']({ modelId, datasetId: flatDs.id, split: 5 as never }))
    expect(notText.message).toBe('split: a split name (text) (got 5)')
    const e = await apiError(s['models.shift']({ modelId, datasetId: splitsDs.id, split: 'train', limit: 'all' as never }))
    expect(e.message).toMatch(/^limit: a positive integer/)
    expect(engineCalls).toEqual([])
  })

  it('passes a valid split (or none) to the engine', async () => {
    engineCalls.length = 0
    await s['models.shift']({ modelId, datasetId: splitsDs.id, split: 'test', limit: 10 })
    await s['models.shift']({ modelId, datasetId: splitsDs.id })
    expect(engineCalls.map((c) => [c.op, c.req.split, c.req.dataRoot, c.req.limit])).toEqual([
      ['model.shift', 'test', splitsDs.root, 10],
      ['model.shift', undefined, splitsDs.root, 512],
    ])
  })
})
