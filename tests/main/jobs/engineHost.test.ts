import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EngineHost } from '../../../src/main/jobs/engineHost'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import { ROOT } from '../../helpers/paths'

const entry = join(ROOT, 'src', 'main', 'engine', 'worker.ts')

describe('engine process', () => {
  it('starts in its own process, picks the fallback backend, answers requests and stops', async () => {
    const host = new EngineHost(forkSpawner({ entry }))
    const states: string[] = []
    host.on('state', (s) => states.push(s))
    const info = await host.start()
    expect(host.pid).toBeGreaterThan(0)
    expect(host.pid).not.toBe(process.pid)
    // tfjs-node is an optional dependency that cannot install here: the engine falls back to wasm
    expect(info.name).toBe('wasm')
    expect(info.fallbackReason).toBeTruthy()
    const ping = await host.request('ping', {})
    expect(ping.pid).toBe(host.pid)
    expect(ping.backend).toBe('wasm')
    await host.stop()
    expect(states).toEqual(['starting', 'ready', 'stopped'])
  })

  it('honours a forced backend and reports a crashed engine as an error, rejecting pending requests', async () => {
    const host = new EngineHost(forkSpawner({ entry }), { backend: 'cpu' })
    expect((await host.start()).name).toBe('cpu')
    const pending = host.request('ping', {})
    process.kill(host.pid!, 'SIGKILL')
    await expect(pending.then(() => host.request('ping', {}))).rejects.toThrow(/exited|not running/)
    expect(host.state).toBe('error')
    // (it restarts by itself: engineSupervision.test.ts)
    await host.stop()
  })
})
