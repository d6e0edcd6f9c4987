/**
 * startApp({ lazyEngine }) (the CLI's app): read-only operations never spawn the engine process, an engine
 * operation starts it once, and idle() works the queue by itself (no kick, no pause before it). A fake engine
 * channel stands in for the process: it answers init, model.inspect and run.start.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startApp } from '../../src/main/app'
import type { EngineChannel, EngineMessage, EngineRequest, EngineSpawner } from '../../src/main/engine/protocol'
import { createExperimentService } from '../../src/main/services/experiments'
import { demoExperiment } from '../../src/main/services/demo'
import type { ApiEvent } from '../../src/shared/api'
import { ROOT } from '../helpers/paths'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A spawner whose "processes" answer in this process; counts the spawns and the requests by op. */
function fakeEngine(): { spawner: EngineSpawner; spawns: () => number; ops: string[] } {
  let spawns = 0
  const ops: string[] = []
  const spawner: EngineSpawner = () => {
    spawns++
    const listeners: ((m: EngineMessage) => void)[] = []
    const exits: ((code: number | null) => void)[] = []
    const answer = (req: EngineRequest): unknown => {
      if (req.op === 'init') return { name: 'cpu', device: 'fake', simd: false, threads: 1 }
      if (req.op === 'model.inspect') throw new Error('no such checkpoint')
      if (req.op === 'run.start') return { status: 'succeeded', health: { ok: true, warnings: [] }, bestEpoch: 0, final: { 'id-val': 0.5 }, backend: 'cpu' }
      return {}
    }
    const ch: EngineChannel = {
      pid: 424242,
      send: (req) => {
        ops.push(req.op)
        queueMicrotask(() => {
          let m: EngineMessage
          try {
            m = { kind: 'response', id: req.id, ok: true, result: answer(req) }
          } catch (e) {
            m = { kind: 'response', id: req.id, ok: false, error: { message: (e as Error).message } }
          }
          for (const l of listeners) l(m)
        })
      },
      onMessage: (cb) => void listeners.push(cb),
      onExit: (cb) => void exits.push(cb),
      kill: () => queueMicrotask(() => exits.splice(0).forEach((cb) => cb(0))),
    }
    return ch
  }
  return { spawner, spawns: () => spawns, ops }
}

function lazyApp(spawner: EngineSpawner) {
  const dataDir = mkdtempSync(join(tmpdir(), 'daft-lazy-'))
  dirs.push(dataDir)
  return startApp({ dataDir, mode: 'cli', spawner, resourcesDir: join(ROOT, 'resources'), skipDemo: true, skipAnalysis: true, lazyEngine: true })
}

describe('startApp with lazyEngine', () => {
  it('read-only operations do not spawn the engine; an engine operation starts it once', async () => {
    const fake = fakeEngine()
    const app = lazyApp(fake.spawner)
    try {
      const project = await app.services['projects.ensure']({})
      expect(project.name).toBeTruthy()
      expect(await app.services['runs.list']({})).toEqual([])
      expect(await app.services['datasets.list']({ projectId: project.id })).toEqual([])
      expect(await app.services['experiments.find']({ idOrName: 'nothing' })).toBeNull()
      await expect(app.services['runs.get']({ runId: 7 })).rejects.toThrow(/run 7 does not exist/)
      expect((await app.services['app.status']({})).engine.state).toBe('stopped')
      expect(fake.spawns()).toBe(0)

      // models.register reads the checkpoint in the engine: the first engine operation starts it
      await expect(app.services['models.register']({ projectId: project.id, path: join(ROOT, 'resources', 'demo', 'demo-resnet8.safetensors') })).rejects.toThrow(/no such checkpoint/)
      await app.engineReady
      expect(fake.spawns()).toBe(1)
      expect(fake.ops).toEqual(['init', 'model.inspect'])
    } finally {
      await app.close()
    }
  })

  it('does not pick up the queue at start-up; idle() works through it without a kick or a pause first', async () => {
    const fake = fakeEngine()
    const app = lazyApp(fake.spawner)
    try {
      const projectId = (await app.services['projects.ensure']({})).id
      // queued behind the services' back (as another process would): nothing kicks the runner
      const { runIds } = createExperimentService(app.db, projectId, demoExperiment((await app.services['app.status']({})).dataDir, join(ROOT, 'resources'), { epochs: 1, seeds: [0, 1] }))
      await new Promise((r) => setTimeout(r, 20))
      expect(fake.spawns()).toBe(0)
      expect((await app.services['runs.list']({})).map((r) => r.status)).toEqual(runIds.map(() => 'queued'))
      const states: ApiEvent[] = []
      app.events.subscribe((ev) => ev.type === 'run.state' && states.push(ev))
      await app.idle()
      expect((await app.services['runs.list']({})).map((r) => r.status)).toEqual(runIds.map(() => 'succeeded'))
      expect(states.map((ev) => ev.type === 'run.state' && `${ev.runId} ${ev.status}`)).toEqual(runIds.flatMap((id) => [`${id} running`, `${id} succeeded`]))
      expect(fake.spawns()).toBe(1)
      // nothing queued: resolves at once
      await app.idle()
    } finally {
      await app.close()
    }
  })
})
