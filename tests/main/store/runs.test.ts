import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../../src/main/store/db'
import * as runs from '../../../src/main/store/runs'
import { ensureDemoProject } from '../../../src/main/services/projects'
import { defaultRecipe } from '../../../src/shared/recipes'
import type { RunSpec } from '../../../src/shared/experiments'

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})

describe('run ownership', () => {
  it('only the process that owns a running run can finish it; one that lost it (taken over after a stall) cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'daft-own-'))
    dirs.push(dir)
    const db = openStore(dir)
    const spec: RunSpec = { model: { path: 'm.pth' }, data: { id: { root: 'd' }, valFraction: 0.1, splitSeed: 0, ood: {}, size: 32, normalize: 'imagenet', augment: [] }, recipe: defaultRecipe('FT'), seed: 0, role: 'single' }
    const exp = runs.createExperiment(db, ensureDemoProject(db), { name: 'e', model: spec.model, data: spec.data, methods: [spec.recipe], seeds: [0] })
    const id = runs.createRun(db, exp, spec)
    const A = 1_000_001
    const B = 1_000_002
    expect(runs.claimRun(db, id, A, 'wasm')).toBe(true)
    expect(runs.ownsRun(db, id, A)).toBe(true)
    // A stalls; another process finds it stale, marks it interrupted and resumes it as B
    db.prepare("UPDATE runs SET status = 'interrupted' WHERE id = ?").run(id)
    expect(runs.claimRun(db, id, B, 'wasm')).toBe(true)
    expect(runs.ownsRun(db, id, A)).toBe(false)
    // A wakes up and tries to record its outcome: refused, B's run is untouched
    expect(runs.finishRun(db, id, 'succeeded', { bestEpoch: 1, final: { 'id-val': 0.5 }, owner: A })).toBe(false)
    expect(runs.getRunStatus(db, id)).toMatchObject({ status: 'running', ownerPid: B })
    expect(runs.finishRun(db, id, 'succeeded', { bestEpoch: 2, final: { 'id-val': 0.7 }, owner: B })).toBe(true)
    const [r] = runs.listRuns(db, { runId: id })
    expect(r).toMatchObject({ status: 'succeeded', bestEpoch: 2, final: { 'id-val': 0.7 } })
    // a finished run is no longer "owned" by anyone for writing
    expect(runs.ownsRun(db, id, B)).toBe(false)
    expect(runs.finishRun(db, id, 'failed', { error: 'late', owner: B })).toBe(false)
    db.close()
  })
})
