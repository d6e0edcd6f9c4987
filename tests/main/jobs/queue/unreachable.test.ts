/** The app's side with a queue configured but Redis unreachable: runs wait queued, the app still closes promptly. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { startApp } from '../../../../src/main/app'
import { forkSpawner } from '../../../../src/main/jobs/forkSpawner'
import * as runs from '../../../../src/main/store/runs'
import { createExperimentService } from '../../../../src/main/services/experiments'
import { ensureDemoProject } from '../../../../src/main/services/projects'
import { ROOT } from '../../../helpers/paths'
import { freePort } from './helpers'
import { queueSweepSpec } from './sweepSpec'

const dataDir = mkdtempSync(join(tmpdir(), 'daft-queue-down-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('a queue whose Redis is unreachable', () => {
  it('keeps runs queued, reports the problem, and closes within seconds', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const port = await freePort()
    const app = startApp({
      dataDir,
      mode: 'cli',
      resourcesDir: join(ROOT, 'resources'),
      skipDemo: true,
      skipAnalysis: true,
      lazyEngine: true,
      redis: `redis://127.0.0.1:${port}`,
      spawner: forkSpawner({ entry: join(ROOT, 'src', 'main', 'engine', 'worker.ts') }),
    })
    try {
      expect(app.queue).toMatchObject({ redis: `redis://127.0.0.1:${port}`, shared: join(dataDir, 'shared'), source: 'option' })
      const { runIds } = createExperimentService(app.db, ensureDemoProject(app.db), { ...queueSweepSpec(dataDir, join(ROOT, 'resources')), sweep: undefined })
      app.runner.kick()
      await new Promise((r) => setTimeout(r, 1500))
      expect(runIds.map((id) => runs.getRunStatus(app.db, id)?.status)).toEqual(runIds.map(() => 'queued'))
      expect(errors.mock.calls.some((c) => /run queue \(redis:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED/.test(String(c[0])))).toBe(true)
      // the Workers panel's op fails within seconds, naming Redis (not a list frozen at its last answer)
      const t = Date.now()
      await expect(app.services['workers.list']({})).rejects.toThrow(`the run queue's Redis (redis://127.0.0.1:${port}) does not answer`)
      expect(Date.now() - t).toBeLessThan(5000)
    } finally {
      const t0 = Date.now()
      await app.close()
      expect(Date.now() - t0).toBeLessThan(15_000)
      errors.mockRestore()
    }
  })
})
