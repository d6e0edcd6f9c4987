/**
 * Crash safety on a real SQLite file: a run whose process is SIGKILLed mid-epoch keeps every finished
 * epoch, is marked interrupted the next time the store is opened, resumes from its last epoch checkpoint
 * and ends with the same metrics as an uninterrupted run of the same seed.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startApp } from '../../../src/main/app'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import { openStore } from '../../../src/main/store/db'
import * as runs from '../../../src/main/store/runs'
import { createExperimentService } from '../../../src/main/services/experiments'
import { demoDataDir, demoExperiment } from '../../../src/main/services/demo'
import { ensureDemoProject } from '../../../src/main/services/projects'
import { generateDemoData } from '../../../src/main/demo/generate'
import { ROOT } from '../../helpers/paths'

const dataDir = mkdtempSync(join(tmpdir(), 'daft-crash-'))
const resources = join(ROOT, 'resources')
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('a run killed mid-epoch', () => {
  it('keeps finished epochs, becomes interrupted, resumes to the uninterrupted result', async () => {
    await generateDemoData(demoDataDir(dataDir))
    const base = demoExperiment(dataDir, resources, { epochs: 3, seeds: [0] })
    const spec = { ...base, name: 'crash', methods: base.methods.filter((m) => m.method === 'FT'), data: { ...base.data, id: { ...base.data.id, limits: { train: 200, test: 60 } }, ood: { stroke: { ...base.data.ood.stroke, limit: 60 } } } }
    const specFile = join(dataDir, 'spec.json')
    writeFileSync(specFile, JSON.stringify(spec))

    // 1. a separate process runs the experiment; kill it (and so its engine) in the middle of epoch 2
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tests', 'main', 'jobs', 'fixtures', 'runExperiment.ts'), dataDir, specFile, resources], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let outText = ''
    child.stderr!.on('data', (d) => (outText += d))
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no epoch after 240 s:\n${outText}`)), 240_000)
      child.stdout!.on('data', (d) => {
        outText += d
        // epoch 0 finished and epoch 1 has started: kill mid-epoch
        if (/EPOCH 1 0/.test(outText) && /BATCH 1 1 1\b/.test(outText)) {
          clearTimeout(t)
          child.kill('SIGKILL')
          resolve()
        }
      })
      child.once('exit', (code) => reject(new Error(`runner exited early (${code}):\n${outText}`)))
    })
    await new Promise((r) => child.once('exit', r))

    // 2. the store still says running (nobody updated it), with epoch 0 kept and a checkpoint after it
    const db = openStore(dataDir)
    const runId = 1
    expect(runs.getRunStatus(db, runId)?.status).toBe('running')
    const owner = runs.getRunStatus(db, runId)!.ownerPid!
    expect(pidAlive(owner)).toBe(false)
    expect(runs.runEpochs(db, runId).map((e) => e.epoch)).toEqual([0])
    expect(runs.getRunStatus(db, runId)?.checkpointEpoch).toBe(1)
    // the next start marks it interrupted
    expect(runs.recoverInterrupted(db)).toEqual([runId])
    expect(runs.getRunStatus(db, runId)?.status).toBe('interrupted')
    db.close()

    // 3. resume it, and run the same spec uninterrupted, in a fresh app
    const app = startApp({ dataDir, mode: 'cli', resourcesDir: resources, skipDemo: true, skipAnalysis: true, spawner: forkSpawner({ entry: join(ROOT, 'src', 'main', 'engine', 'worker.ts') }) })
    try {
      await app.engineReady
      expect(app.runner.resume(runId)).toBe(true)
      await new Promise((r) => setTimeout(r, 50))
      await app.runner.idle()
      const { runIds } = createExperimentService(app.db, ensureDemoProject(app.db), spec)
      app.runner.kick()
      await new Promise((r) => setTimeout(r, 50))
      await app.runner.idle()
      const all = runs.listRuns(app.db)
      const resumed = all.find((r) => r.id === runId)!
      const clean = all.find((r) => r.id === runIds[0])!
      expect(resumed.status).toBe('succeeded')
      expect(clean.status).toBe('succeeded')
      expect(resumed.final).toEqual(clean.final)
      expect(resumed.bestEpoch).toBe(clean.bestEpoch)
      const a = runs.runEpochs(app.db, runId)
      const b = runs.runEpochs(app.db, clean.id)
      expect(a.map((e) => e.epoch)).toEqual([0, 1, 2])
      expect(a.map((e) => [e.trainLoss, e.acc])).toEqual(b.map((e) => [e.trainLoss, e.acc]))
    } finally {
      await app.close()
    }
  })
})
