/**
 * One catalog for both front doors (issue 14, item 1): datasets and models are registered deduplicated by real path
 * and content fingerprint. The same folder twice, a copy elsewhere (recorded as a further root: its images are
 * served), a changed folder (refreshed in place), an app import then a CLI registration, entries of older stores
 * without a fingerprint, name clashes; models by sha256 (TF.js: model.json and its shards), the architecture asked
 * for, a file that moved; what an experiment names; the project the command line uses.
 * Real folders in a temp dir with real MNIST-M images copied from the shared digits set; a real store.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../../src/shared/api'
import type { ExperimentSpec } from '../../../src/shared/experiments'
import { cliProject, datasetFingerprint, importDatasetFingerprinted, registerDataset, registerExperimentCatalog, registerModel } from '../../../src/main/services/catalog'
import { importDatasetService, imageThumbnail } from '../../../src/main/services/datasets'
import { importModelService, modelFingerprint, type InspectModel } from '../../../src/main/services/models'
import { ensureDemoProject } from '../../../src/main/services/projects'
import { openStore, type Db } from '../../../src/main/store/db'
import { datasetKeys, datasetRoots, listDatasets, listModels, modelKeys, type ModelInfo } from '../../../src/main/store/catalog'
import { CIFAR_RESNET, DIGITS } from '../../helpers/paths'

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'daft-catalog-')))
let db: Db
let projectId: number
beforeAll(() => {
  db = openStore(path.join(base, 'store'))
  projectId = ensureDemoProject(db)
})
afterAll(() => {
  db?.close()
  fs.rmSync(base, { recursive: true, force: true })
})

/** An ImageFolder of real MNIST-M training images: `n` per class. */
function digitsFolder(dir: string, classes: string[], n: number): string {
  for (const c of classes) {
    const src = path.join(DIGITS, 'mnist_m', 'train', c)
    fs.mkdirSync(path.join(dir, c), { recursive: true })
    for (const f of fs.readdirSync(src).sort().slice(0, n)) fs.copyFileSync(path.join(src, f), path.join(dir, c, f))
  }
  return dir
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  )
  expect(e).toBeInstanceOf(ApiError)
  return e as ApiError
}

/** A stand-in for the engine's model.inspect that counts its calls. */
function fakeInspect(): InspectModel & { calls: string[] } {
  const calls: string[] = []
  const f = (async (p: string, arch?: string): Promise<ModelInfo> => {
    calls.push(p)
    return {
      path: p,
      arch: arch ?? 'resnet20',
      format: 'torch-legacy',
      numClasses: 10,
      parameters: 1,
      bnLayers: [],
      keyReport: { missing: [], unexpected: [], notes: [] },
      preprocessing: { inputSize: [32, 32], normalize: 'imagenet' },
    }
  }) as InspectModel & { calls: string[] }
  f.calls = calls
  return f
}

describe('datasets in the catalog', () => {
  it('the same folder twice is one entry; a copy elsewhere reuses it and its images are served from there too', async () => {
    const a = digitsFolder(path.join(base, 'a', 'digits'), ['0', '1', '2'], 4)
    const first = await registerDataset(db, { projectId, root: a })
    expect(first.status).toBe('added')
    expect(first.dataset).toMatchObject({ name: 'digits', root: a, classes: ['0', '1', '2'] })
    const again = await registerDataset(db, { projectId, root: a })
    expect(again).toMatchObject({ status: 'reused', fingerprint: first.fingerprint })
    expect(again.dataset.id).toBe(first.dataset.id)

    const copy = path.join(base, 'copy', 'digits-copy')
    fs.cpSync(a, copy, { recursive: true })
    const fromCopy = await registerDataset(db, { projectId, root: copy, name: 'ignored: same content' })
    expect(fromCopy.status).toBe('reused')
    expect(fromCopy.dataset.id).toBe(first.dataset.id)
    expect(listDatasets(db, projectId).filter((d) => d.root === a || d.root === copy)).toHaveLength(1)
    expect(datasetRoots(db)).toEqual(expect.arrayContaining([a, copy]))
    // a run on the copy shows its images: the copy's files are inside a registered root now
    const img = path.join(copy, '1', fs.readdirSync(path.join(copy, '1'))[0])
    const thumb = await imageThumbnail(db, [], { path: img, size: 32 })
    expect(thumb.width).toBe(32)
    expect(thumb.dataUrl).toMatch(/^data:image\/png;base64,/)
  })

  it('a folder whose content changed is imported again into its own entry (same id and name, new fingerprint)', async () => {
    const dir = digitsFolder(path.join(base, 'changing', 'set'), ['0', '1'], 3)
    const first = await registerDataset(db, { projectId, root: dir })
    const src = path.join(DIGITS, 'mnist_m', 'train', '1')
    fs.copyFileSync(path.join(src, fs.readdirSync(src).sort()[10]), path.join(dir, '1', 'extra.png'))
    const second = await registerDataset(db, { projectId, root: dir })
    expect(second.status).toBe('updated')
    expect(second.dataset.id).toBe(first.dataset.id)
    expect(second.dataset.name).toBe(first.dataset.name)
    expect(second.fingerprint).not.toBe(first.fingerprint)
    expect(Object.values(second.dataset.counts).reduce((x, y) => x + y, 0)).toBe(7)
    // a zero-byte file is part of the content too (the import report would list it)
    fs.writeFileSync(path.join(dir, '0', 'zero.png'), '')
    const third = await registerDataset(db, { projectId, root: dir })
    expect(third.status).toBe('updated')
    expect(third.dataset.report.skipped.map((s) => s.reason)).toEqual(['corrupt'])
  })

  it('fingerprints: relative paths and sizes, not where the folder is; skipped entries count', async () => {
    const x = digitsFolder(path.join(base, 'fp', 'x'), ['3', '4'], 2)
    const y = path.join(base, 'fp', 'y')
    fs.cpSync(x, y, { recursive: true })
    const fx = await datasetFingerprint(x)
    expect(fx).toMatchObject({ classes: ['3', '4'], files: 4, skipped: 0 })
    expect((await datasetFingerprint(y)).fingerprint).toBe(fx.fingerprint)
    fs.mkdirSync(path.join(y, '5'))
    const fy = await datasetFingerprint(y)
    expect(fy.skipped).toBe(1)
    expect(fy.fingerprint).not.toBe(fx.fingerprint)
    fs.renameSync(path.join(x, '3'), path.join(x, 'three'))
    expect((await datasetFingerprint(x)).fingerprint).not.toBe(fx.fingerprint)
  })

  it("an app import is found by the CLI's registration (no second import); an entry without a fingerprint is refreshed in place", async () => {
    const dir = digitsFolder(path.join(base, 'app', 'usps-like'), ['0', '1'], 3)
    const imported = await importDatasetFingerprinted(db, { projectId, root: dir, name: 'from the app' })
    expect(datasetKeys(db, projectId).find((k) => k.id === imported.id)?.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    const r = await registerDataset(db, { projectId, root: dir })
    expect(r).toMatchObject({ status: 'reused', dataset: { id: imported.id, name: 'from the app' } })

    // older stores (and the demo's own registration) have no fingerprint: the same folder is imported again, keeping
    // the entry's name and its val fraction
    const old = digitsFolder(path.join(base, 'old', 'legacy'), ['0', '1'], 5)
    const legacy = await importDatasetService(db, { projectId, root: old, name: 'legacy', valFraction: 0.2 })
    expect(datasetKeys(db, projectId).find((k) => k.id === legacy.id)?.fingerprint).toBeNull()
    const refreshed = await registerDataset(db, { projectId, root: old }, { defaultValFraction: 0.1 })
    expect(refreshed).toMatchObject({ status: 'updated', dataset: { id: legacy.id, name: 'legacy' } })
    expect(refreshed.dataset.report.valFrom?.fraction).toBe(0.2)
    expect((await registerDataset(db, { projectId, root: old })).status).toBe('reused')
  })

  it('names: a new folder never takes another entry\'s name (made unique, or refused when asked for); an explicit val fraction is honoured', async () => {
    const one = digitsFolder(path.join(base, 'n1', 'mnist'), ['0', '1'], 2)
    const two = digitsFolder(path.join(base, 'n2', 'mnist'), ['0', '1', '2'], 2)
    const r1 = await registerDataset(db, { projectId, root: one })
    const r2 = await registerDataset(db, { projectId, root: two })
    expect([r1.dataset.name, r2.dataset.name]).toEqual(['mnist', 'mnist-2'])
    expect(listDatasets(db, projectId).find((d) => d.id === r1.dataset.id)?.root).toBe(one)
    const three = digitsFolder(path.join(base, 'n3', 'other'), ['0', '1', '2', '3'], 2)
    const e = await apiError(registerDataset(db, { projectId, root: three, name: 'mnist' }))
    expect(e.code).toBe('exists')
    expect(e.message).toContain(one)

    // the same content asked for with another held-out fraction is imported again with it
    const split = await registerDataset(db, { projectId, root: one, valFraction: 0.5 })
    expect(split.status).toBe('updated')
    expect(split.dataset.id).toBe(r1.dataset.id)
    expect(split.dataset.report.valFrom?.fraction).toBe(0.5)
    expect((await registerDataset(db, { projectId, root: one, valFraction: 0.5 })).status).toBe('reused')
    expect((await apiError(registerDataset(db, { projectId, root: one, valFraction: 1 }))).code).toBe('bad_request')
    expect((await apiError(registerDataset(db, { projectId, root: path.join(base, 'missing') }))).code).toBe('not_found')
  })
})

describe('models in the catalog', () => {
  const resnet20 = path.join(CIFAR_RESNET, 'resnet20-12fca82f.th')

  it('by sha256 of the file: the same checkpoint (also a copy) is one entry and is not inspected again', async () => {
    const inspect = fakeInspect()
    const first = await registerModel(db, inspect, { projectId, path: resnet20 })
    expect(first.status).toBe('added')
    expect(first.model.name).toBe('resnet20-12fca82f.th')
    // torchvision-style file names carry the start of the checkpoint's sha256
    expect(first.fingerprint.startsWith('12fca82f')).toBe(true)
    const copy = path.join(base, 'models', 'r20.th')
    fs.mkdirSync(path.dirname(copy), { recursive: true })
    fs.copyFileSync(resnet20, copy)
    const again = await registerModel(db, inspect, { projectId, path: copy })
    expect(again).toMatchObject({ status: 'reused', model: { id: first.model.id, path: resnet20 } })
    expect(inspect.calls).toEqual([resnet20])
    // the same bytes read as another architecture are another model
    const other = await registerModel(db, inspect, { projectId, path: copy, arch: 'resnet32' })
    expect(other.status).toBe('added')
    expect(other.model.name).toBe('r20.th')
  })

  it('a changed file refreshes its entry; a registered file that is gone points to the copy with its bytes', async () => {
    const inspect = fakeInspect()
    const file = path.join(base, 'models', 'moving.th')
    fs.copyFileSync(path.join(CIFAR_RESNET, 'resnet32-d509ac18.th'), file)
    const first = await registerModel(db, inspect, { projectId, path: file, name: 'moving' })
    fs.appendFileSync(file, Buffer.from([0]))
    const changed = await registerModel(db, inspect, { projectId, path: file })
    expect(changed).toMatchObject({ status: 'updated', model: { id: first.model.id, name: 'moving' } })
    const moved = path.join(base, 'models', 'moved.th')
    fs.renameSync(file, moved)
    const back = await registerModel(db, inspect, { projectId, path: moved })
    expect(back).toMatchObject({ status: 'reused', model: { id: first.model.id, path: moved } })
    const e = await apiError(registerModel(db, inspect, { projectId, path: path.join(CIFAR_RESNET, 'resnet44-014dd654.th'), name: 'moving' }))
    expect(e.code).toBe('exists')
    // the name is refused before the checkpoint is read
    expect(inspect.calls).toHaveLength(2)
    expect((await apiError(registerModel(db, inspect, { projectId, path: path.join(base, 'nope.th') }))).code).toBe('not_found')
  })

  it('a TF.js model: model.json and the shards it names (the folder or its model.json alike)', async () => {
    const dir = path.join(base, 'tfjs')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w1.bin'], weights: [] }] }))
    fs.writeFileSync(path.join(dir, 'w1.bin'), Buffer.alloc(64, 1))
    fs.writeFileSync(path.join(dir, 'unrelated.txt'), 'x')
    const a = await modelFingerprint(dir)
    expect(await modelFingerprint(path.join(dir, 'model.json'))).toBe(a)
    fs.writeFileSync(path.join(dir, 'unrelated.txt'), 'y')
    expect(await modelFingerprint(dir)).toBe(a)
    fs.writeFileSync(path.join(dir, 'w1.bin'), Buffer.alloc(64, 2))
    expect(await modelFingerprint(dir)).not.toBe(a)
  })

  it("the app's models.import (factored out) keeps its behaviour and records the fingerprint", async () => {
    const inspect = fakeInspect()
    const m = await importModelService(db, inspect, { projectId, path: path.join(CIFAR_RESNET, 'resnet56-4bfd9763.th'), name: ' r56 ' })
    expect(m.name).toBe('r56')
    expect(modelKeys(db, projectId).find((k) => k.id === m.id)?.fingerprint?.startsWith('4bfd9763')).toBe(true)
    expect((await apiError(importModelService(db, inspect, { projectId, path: '' }))).code).toBe('bad_request')
    const failing: InspectModel = async () => {
      throw new Error('x.th: refused global os.system')
    }
    const e = await apiError(importModelService(db, failing, { projectId, path: path.join(CIFAR_RESNET, 'resnet56-4bfd9763.th') }))
    expect(e.code).toBe('bad_checkpoint')
  })
})

describe('what an experiment names, and where', () => {
  it('registers the ID root, every OOD root and the model; one that cannot be registered is reported, not thrown', async () => {
    const project = cliProject(db, 'experiment test')
    const id = digitsFolder(path.join(base, 'exp', 'id-set'), ['0', '1'], 4)
    const ood = digitsFolder(path.join(base, 'exp', 'ood-set'), ['0', '1'], 2)
    const spec = {
      name: 'e',
      model: { path: path.join(CIFAR_RESNET, 'resnet20-12fca82f.th') },
      data: { id: { root: id }, valFraction: 0.25, ood: { near: { root: ood }, broken: { root: path.join(base, 'exp', 'missing') } }, size: 32, normalize: 'imagenet', augment: [] },
      methods: [],
      seeds: [0],
    } as unknown as ExperimentSpec
    const inspect = fakeInspect()
    const c = await registerExperimentCatalog(db, inspect, project, spec)
    expect(c.datasets.map((d) => [d.set, d.status ?? 'error', d.dataset?.name])).toEqual([
      ['id', 'added', 'id-set'],
      ['near', 'added', 'ood-set'],
      ['broken', 'error', undefined],
    ])
    expect(c.datasets[2].error).toMatch(/no such folder/)
    expect(c.datasets[0].dataset?.report.valFrom?.fraction).toBe(0.25)
    expect(c.model).toMatchObject({ status: 'added', model: { name: 'resnet20-12fca82f.th' } })
    expect(listModels(db, project)).toHaveLength(1)
    const again = await registerExperimentCatalog(db, inspect, project, spec)
    expect(again.datasets.slice(0, 2).map((d) => d.status)).toEqual(['reused', 'reused'])
    expect(again.model.status).toBe('reused')
    expect(inspect.calls).toHaveLength(1)
  })

  it('the command line works in the built-in project the app opens on, or the one named (created once)', () => {
    expect(cliProject(db)).toBe(ensureDemoProject(db))
    const named = cliProject(db, 'Command line')
    expect(cliProject(db, ' Command line ')).toBe(named)
    expect(named).not.toBe(ensureDemoProject(db))
  })
})
