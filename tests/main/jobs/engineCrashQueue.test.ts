/**
 * The engine supervised, with real parts (the app, a real engine process, the demo model and images):
 * the engine is SIGKILLed in the middle of a run's third epoch; the run becomes interrupted (with an event,
 * never left running), the engine restarts by itself and the next queued run proceeds. The interrupted
 * run's newest checkpoint is then corrupted (flipped bytes): its resume falls back to the previous
 * checkpoint, runs the epochs after it again and ends with the metrics of the run that was never
 * interrupted (same seed). Exports of the finished run refuse an existing path unless asked to overwrite.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startApp } from '../../../src/main/app'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import * as runs from '../../../src/main/store/runs'
import { createExperimentService } from '../../../src/main/services/experiments'
import { demoDataDir, demoExperiment } from '../../../src/main/services/demo'
import { ensureDemoProject } from '../../../src/main/services/projects'
import { generateDemoData } from '../../../src/main/demo/generate'
import type { ApiEvent } from '../../../src/shared/api'
import { ROOT } from '../../helpers/paths'

const dataDir = mkdtempSync(join(tmpdir(), 'daft-supervised-'))
const outDir = mkdtempSync(join(tmpdir(), 'daft-export-'))
const resources = join(ROOT, 'resources')
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(outDir, { recursive: true, force: true })
})

const mode = (p: string): number => statSync(p).mode & 0o777

async function drain(app: { runner: { kick(): void; idle(): Promise<void> } }): Promise<void> {
  app.runner.kick()
  await new Promise((r) => setTimeout(r, 50))
  await app.runner.idle()
}

describe('a supervised engine', () => {
  it('killed mid-run: interrupted run, engine restarted, queue goes on; a corrupt checkpoint falls back; exports do not clobber', async () => {
    await generateDemoData(demoDataDir(dataDir))
    const base = demoExperiment(dataDir, resources, { epochs: 3, seeds: [0] })
    const spec = {
      ...base,
      name: 'supervised',
      methods: base.methods.filter((m) => m.method === 'FT'),
      data: { ...base.data, id: { ...base.data.id, limits: { train: 100, test: 40 } }, ood: { stroke: { ...base.data.ood.stroke, limit: 40 } } },
    }
    const app = startApp({ dataDir, mode: 'cli', resourcesDir: resources, skipDemo: true, skipAnalysis: true, spawner: forkSpawner({ entry: join(ROOT, 'src', 'main', 'engine', 'worker.ts') }) })
    const events: ApiEvent[] = []
    let killed: number | undefined
    const project = ensureDemoProject(app.db)
    try {
      await app.engineReady
      expect(mode(dataDir)).toBe(0o700)
      const [victim] = createExperimentService(app.db, project, { ...spec, name: 'victim' }).runIds
      const [clean] = createExperimentService(app.db, project, { ...spec, name: 'clean' }).runIds
      app.events.subscribe((ev) => {
        events.push(ev)
        // two epochs (and their checkpoints) done, the third under way: kill the engine
        if (ev.type === 'run.batch' && ev.runId === victim && ev.epoch === 2 && killed === undefined) {
          killed = app.engine.pid!
          process.kill(killed, 'SIGKILL')
        }
      })
      await drain(app)

      // 1. the run is interrupted, not failed and not left running; the engine came back; the next run ran
      expect(killed).toBeGreaterThan(0)
      expect(runs.getRunStatus(app.db, victim)?.status).toBe('interrupted')
      expect(events.find((e) => e.type === 'run.state' && e.runId === victim && e.status === 'interrupted')).toMatchObject({ error: expect.stringMatching(/engine process exited/) })
      expect(app.engine.state).toBe('ready')
      expect(app.engine.pid).not.toBe(killed)
      expect(runs.getRunStatus(app.db, clean)?.status).toBe('succeeded')
      expect(runs.getRunStatus(app.db, victim)?.checkpointEpoch).toBe(2)
      // the store knows the newest and the previous checkpoint
      expect(runs.checkpointArtifacts(app.db, victim)).toHaveLength(2)
      const runDir = app.runner.runDir(victim)
      expect(mode(runDir)).toBe(0o700)
      expect(mode(join(runDir, 'checkpoint', 'weights.safetensors'))).toBe(0o600)

      // 2. flip bytes in the newest checkpoint, leave leftovers of a killed write, and resume
      const newest = join(runDir, 'checkpoint', 'weights.safetensors')
      const buf = readFileSync(newest)
      for (let i = 0; i < 16; i++) buf[buf.length - 100 - i] ^= 0x5a
      writeFileSync(newest, buf)
      mkdirSync(join(runDir, 'checkpoint.tmp-999999'))
      mkdirSync(join(runDir, 'checkpoint.old-999999'))
      const before = events.length
      expect(app.runner.resume(victim)).toBe(true)
      await drain(app)
      const note = events.slice(before).find((e) => e.type === 'run.stage' && e.runId === victim && /previous checkpoint/.test(e.stage))
      expect(note).toMatchObject({ stage: expect.stringMatching(/resuming from the previous checkpoint \(after epoch 1\); epochs from 2 run again: the newest checkpoint is corrupt/) })
      expect(readdirSync(runDir).filter((n) => /\.(tmp|old)-/.test(n))).toEqual([])
      const all = runs.listRuns(app.db)
      const resumed = all.find((r) => r.id === victim)!
      const reference = all.find((r) => r.id === clean)!
      expect(resumed.status).toBe('succeeded')
      expect(resumed.final).toEqual(reference.final)
      expect(resumed.bestEpoch).toBe(reference.bestEpoch)
      const a = runs.runEpochs(app.db, victim)
      const b = runs.runEpochs(app.db, clean)
      expect(a.map((e) => e.epoch)).toEqual(b.map((e) => e.epoch))
      expect(a.map((e) => [e.trainLoss, e.acc])).toEqual(b.map((e) => [e.trainLoss, e.acc]))
      // a finished run keeps its newest checkpoint only
      expect(existsSync(join(runDir, 'checkpoint.prev'))).toBe(false)
      expect(runs.checkpointArtifacts(app.db, victim)).toHaveLength(1)

      // 3. exports: an existing path is refused unless overwrite; written next to the target and renamed
      const exp = app.services['runs.export']
      const file = join(outDir, 'model.safetensors')
      await exp({ runId: clean, format: 'safetensors', out: file })
      writeFileSync(file, 'an older file')
      await expect(exp({ runId: clean, format: 'safetensors', out: file })).rejects.toMatchObject({ code: 'exists', message: expect.stringMatching(/exists; pass overwrite/) })
      expect(readFileSync(file, 'utf8')).toBe('an older file')
      await exp({ runId: clean, format: 'safetensors', out: file, overwrite: true })
      expect(readFileSync(file).equals(readFileSync(join(app.runner.runDir(clean), 'final.safetensors')))).toBe(true)

      const folder = join(outDir, 'tfjs-model')
      expect((await exp({ runId: clean, format: 'tfjs', out: folder })).out).toBe(join(folder, 'model.json'))
      await expect(exp({ runId: clean, format: 'tfjs', out: folder })).rejects.toMatchObject({ code: 'exists' })
      writeFileSync(join(folder, 'stale.txt'), 'from an older export')
      await exp({ runId: clean, format: 'tfjs', out: folder, overwrite: true })
      expect(readdirSync(folder).sort()).toEqual(['model.json', 'weights.bin'])
      // a folder that is not a TF.js model is never replaced, even with overwrite
      const photos = join(outDir, 'photos')
      mkdirSync(photos)
      writeFileSync(join(photos, 'a.jpg'), 'x')
      await expect(exp({ runId: clean, format: 'tfjs', out: photos, overwrite: true })).rejects.toMatchObject({ code: 'exists', message: expect.stringMatching(/holds no TF\.js model/) })
      expect(readdirSync(photos)).toEqual(['a.jpg'])
      expect(readdirSync(outDir).filter((n) => /\.(tmp|old)-/.test(n))).toEqual([])
    } finally {
      await app.close()
    }
  })
})
