/**
 * The whole service layer on the built-in demo, with a real engine process and a real store:
 * demo assets registered, LP/FT/LP-FT/DAFT queued and trained, every run analysed, comparison,
 * galleries, live losses, and cancellation of a running run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../../../src/main/app'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import type { ApiEvent } from '../../../src/shared/api'
import { ROOT } from '../../helpers/paths'

const dataDir = mkdtempSync(join(tmpdir(), 'daft-pipeline-'))
let app: App
const events: ApiEvent[] = []

beforeAll(async () => {
  app = startApp({ dataDir, mode: 'cli', resourcesDir: join(ROOT, 'resources'), spawner: forkSpawner({ entry: join(ROOT, 'src', 'main', 'engine', 'worker.ts') }) })
  app.events.subscribe((ev) => events.push(ev))
  await app.demoReady
})
afterAll(async () => {
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('demo comparison through the services', () => {
  it('registers the demo datasets and model', async () => {
    const s = app.services
    const [project] = await s['projects.list']({})
    expect(project.builtIn).toBe(true)
    const datasets = await s['datasets.list']({ projectId: project.id })
    expect(datasets.map((d) => d.name).sort()).toEqual(['shapes-color', 'shapes-source', 'shapes-stroke', 'shapes-texture'])
    // the pretraining style has all ten source shapes, the target styles five of them
    const classes = Object.fromEntries(datasets.map((d) => [d.name, d.classes]))
    expect(classes['shapes-source']).toEqual(['arrow', 'bowtie', 'circle', 'crescent', 'cross', 'heart', 'ring', 'square', 'star', 'triangle'])
    for (const n of ['shapes-color', 'shapes-texture', 'shapes-stroke']) expect(classes[n]).toEqual(['circle', 'cross', 'square', 'star', 'triangle'])
    const [model] = await s['models.list']({ projectId: project.id })
    expect(model.arch).toBe('resnet8')
    expect(model.bnLayers).toHaveLength(7)
    expect(model.keyReport.missing).toEqual([])
  })

  it('trains LP, FT, LP-FT and DAFT over three seeds, analyses each run and compares them', async () => {
    const s = app.services
    const { experimentId, runIds } = await s['demo.run']({ epochs: 1 })
    expect(runIds).toHaveLength(12)
    // idle() kicks the queue itself: no pause before it
    await app.idle()
    const all = await s['runs.list']({ experimentId })
    expect(all.map((r) => [r.method, r.seed, r.status])).toEqual(['LP', 'FT', 'LP-FT', 'DAFT'].flatMap((m) => [0, 1, 2].map((seed) => [m, seed, 'succeeded'])))
    // DAFT as Table 1: two learning rates (eta_theta != eta_w); FT and LP-FT one
    for (const r of all) {
      if (r.method === 'DAFT') expect(r.lr.backbone).not.toBe(r.lr.head)
      else expect(r.lr.backbone).toBe(r.lr.head)
    }
    // the first seed of each method
    const runs = ['LP', 'FT', 'LP-FT', 'DAFT'].map((m) => all.find((r) => r.method === m && r.seed === 0)!)
    const table = await s['experiments.compare']({ experimentId })
    expect(table.rows.map((r) => [r.method, r.runs])).toEqual([['LP', 3], ['FT', 3], ['LP-FT', 3], ['DAFT', 3]])
    expect(table.sets).toEqual(['id-val', 'id-test', 'stroke', 'texture'])
    for (const set of table.sets) expect(table.rows.map((r) => r.method)).toContain(table.best[set])
    // the pretrained features carry to both shifted styles: LP well above chance (5 classes: 20 %), the same for every seed
    const lpRow = table.rows.find((r) => r.method === 'LP')!
    for (const set of ['texture', 'stroke']) {
      expect(lpRow.mean[set]).toBeGreaterThan(0.35)
      expect(lpRow.std[set]).toBe(0)
    }

    // every finished run carries its health checks; LP-FT and DAFT start from real models: evaluated as epoch -1 ("epoch 0, start")
    for (const r of runs) expect(r.health).not.toBeNull()
    for (const r of [runs[2], runs[3]]) {
      const d = await s['runs.get']({ runId: r.id })
      expect(d.epochs.map((e) => e.epoch)).toEqual([-1, 0])
      expect(d.epochs[0].trainLoss).toBeNull()
      expect(Object.keys(d.epochs[0].acc).sort()).toEqual(['id-test', 'id-val', 'stroke', 'texture'])
      // the reported epoch is the better of the start and the trained epoch on ID val
      const best = d.epochs.reduce((a, b) => (b.acc['id-val'] > a.acc['id-val'] ? b : a))
      expect(r.bestEpoch).toBe(best.epoch)
      expect(r.final!['id-val']).toBe(best.acc['id-val'])
    }
    // live curve data: FT recorded its batch losses and one epoch (a random head's start is not evaluated)
    const ft = await s['runs.get']({ runId: runs[1].id })
    expect(ft.epochs).toHaveLength(1)
    expect(ft.losses.length).toBeGreaterThan(5)
    expect(ft.run.imagesPerSec).toBeGreaterThan(0)
    expect(events.some((e) => e.type === 'run.batch' && e.runId === runs[1].id)).toBe(true)
    // files by path and hash: the rolling checkpoint (one row) and the final weights
    const files = app.db.prepare('SELECT kind, path, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY kind').all(runs[1].id) as { kind: string; path: string; sha256: string; bytes: number }[]
    expect(files.map((f) => f.kind)).toEqual(['checkpoint', 'final'])
    expect(files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.bytes > 100_000)).toBe(true)

    // LP leaves the backbone untouched: cosine 1 for every image, relative change 0 in every layer
    const lp = (await s['analysis.get']({ runId: runs[0].id }))!
    for (const set of lp.sets) {
      expect(set.cosine.min).toBeGreaterThan(0.99999)
      expect(set.l2.max).toBeLessThan(1e-3)
    }
    expect(lp.relativeChange.pretrained.every((r) => r.value === null || r.value < 1e-6)).toBe(true)

    // DAFT: conversion kept the features; fine-tuning changed them; one row per BN layer and kind
    const daft = (await s['analysis.get']({ runId: runs[3].id }))!
    expect(daft.sets.map((x) => x.set)).toEqual(['id-test', 'texture', 'stroke'])
    for (const set of daft.sets) {
      expect(set.convertedCheck?.ok).toBe(true)
      expect(set.cosine.min).toBeGreaterThanOrEqual(-1)
      expect(set.cosine.max).toBeLessThanOrEqual(1)
      expect(set.cosine.histogram.counts.reduce((a, b) => a + b, 0)).toBe(set.n)
    }
    const runningVar = daft.relativeChange.start.filter((r) => r.kind === 'running_var')
    expect(runningVar).toHaveLength(7)
    expect(runningVar[0].stage).toBe('stem')
    // against the pretrained checkpoint, the conversion itself shows up as change in every BN layer's statistics
    const rvPre = daft.relativeChange.pretrained.filter((r) => r.kind === 'running_var')
    expect(rvPre.every((r) => (r.value ?? 0) > 1e-3)).toBe(true)
    expect(daft.shift.map((x) => x.set)).toEqual(['id-test', 'texture', 'stroke'])

    // galleries: per class, lowest ascending, highest descending, k each
    const g = await s['analysis.gallery']({ runId: runs[3].id, set: 'texture', k: 4 })
    expect(g.perClass).toHaveLength(5)
    for (const c of g.perClass) {
      expect(c.lowest).toHaveLength(4)
      const lo = c.lowest.map((i) => i.cosine)
      const hi = c.highest.map((i) => i.cosine)
      expect([...lo].sort((a, b) => a - b)).toEqual(lo)
      expect([...hi].sort((a, b) => b - a)).toEqual(hi)
      expect(Math.min(...hi)).toBeGreaterThanOrEqual(Math.max(...lo) - 1e-12)
      expect(c.lowest.every((i) => i.className === c.className && i.label === c.label)).toBe(true)
    }
    // the tiles' images come through the API
    const img = await s['images.get']({ path: g.perClass[0].lowest[0].path, size: 64 })
    expect(img.dataUrl.startsWith('data:image/png;base64,')).toBe(true)
    await expect(s['images.get']({ path: '/etc/passwd' })).rejects.toThrow(/not inside a registered dataset/)
  })

  it('cancels a running run between batches', async () => {
    const s = app.services
    const { runIds } = await s['demo.run']({ epochs: 3 })
    // queued method by method, three seeds each: LP 0-2, then FT
    const ft = runIds[3]
    await new Promise<void>((resolve) => {
      const unsub = app.events.subscribe((ev) => {
        if (ev.type === 'run.batch' && ev.runId === ft && ev.batch >= 1) {
          unsub()
          void s['runs.cancel']({ runId: ft }).then(() => resolve())
        }
      })
    })
    // the rest of the queue goes on; cancel those too so the test ends quickly
    for (const id of runIds.slice(4)) await s['runs.cancel']({ runId: id })
    await app.runner.idle()
    const runs = await s['runs.list']({})
    expect(runs.find((r) => r.id === ft)!.status).toBe('cancelled')
    expect(runs.find((r) => r.id === runIds[11])!.status).toBe('cancelled')
  })
})
