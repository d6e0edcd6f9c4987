/**
 * Engine supervision with a real engine process: one start at a time, request timeouts, a hung engine
 * detected by its missing ping replies and replaced, automatic restarts with backoff and a cap.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EngineDownError, EngineHost, EngineTimeoutError } from '../../../src/main/jobs/engineHost'
import { forkSpawner } from '../../../src/main/jobs/forkSpawner'
import type { EngineSpawner } from '../../../src/main/engine/protocol'
import { ROOT } from '../../helpers/paths'

const entry = join(ROOT, 'src', 'main', 'engine', 'worker.ts')
const demoModel = join(ROOT, 'resources', 'demo', 'demo-resnet8.safetensors')

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** `p`, or a clear failure after `ms` (a missing restart must not hang the test) */
function within<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))])
}

/** forkSpawner, counting the processes it starts */
function counting(): { spawner: EngineSpawner; pids: (number | undefined)[] } {
  const inner = forkSpawner({ entry, killGraceMs: 500 })
  const pids: (number | undefined)[] = []
  return {
    pids,
    spawner: () => {
      const ch = inner()
      pids.push(ch.pid)
      return ch
    },
  }
}

const hosts: EngineHost[] = []
const stopped: number[] = []
afterEach(async () => {
  for (const pid of stopped.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGCONT')
  await Promise.all(hosts.splice(0).map((h) => h.stop()))
})

describe('engine supervision', () => {
  it('concurrent start() calls (and a request made meanwhile) share one process', async () => {
    const { spawner, pids } = counting()
    const host = new EngineHost(spawner)
    hosts.push(host)
    const [a, b, ping] = await Promise.all([host.start(), host.start(), host.request('ping', {})])
    expect(a).toBe(b)
    expect(pids).toHaveLength(1)
    expect(ping.pid).toBe(pids[0])
    // started and ready: start() again is the same engine
    await host.start()
    expect(pids).toHaveLength(1)
  })

  it('a request that gets no answer in its timeout rejects with a clear error; the engine stays', async () => {
    const host = new EngineHost(counting().spawner, { timeouts: { ping: 300 }, livenessTimeoutMs: 0 })
    hosts.push(host)
    await host.start()
    const pid = host.pid!
    process.kill(pid, 'SIGSTOP')
    stopped.push(pid)
    const late = host.request('ping', {})
    await expect(late).rejects.toBeInstanceOf(EngineTimeoutError)
    await expect(late).rejects.toThrow('the engine did not answer ping within 300 ms (request timeout)')
    process.kill(pid, 'SIGCONT')
    expect((await host.request('ping', {})).pid).toBe(pid)
    expect(host.state).toBe('ready')
  })

  it('a hung engine (no ping replies) is killed, its requests fail as engine-down, and it is replaced', async () => {
    const { spawner, pids } = counting()
    const host = new EngineHost(spawner, { pingIntervalMs: 150, livenessTimeoutMs: 1500, restart: { baseDelayMs: 50 } })
    hosts.push(host)
    const restarted = new Promise((r) => host.once('restarted', r))
    await host.start()
    const first = host.pid!
    process.kill(first, 'SIGSTOP')
    stopped.push(first)
    const t0 = Date.now()
    const err = await host.request('model.inspect', { path: demoModel }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(EngineDownError)
    expect((err as EngineDownError).reason).toBe('hung')
    expect((err as Error).message).toMatch(/stopped answering .* no reply to pings/)
    expect(Date.now() - t0).toBeLessThan(5000)
    await within(restarted, 'the restart')
    expect(pids).toHaveLength(2)
    expect(host.pid).not.toBe(first)
    expect(host.state).toBe('ready')
    expect((await host.request('ping', {})).pid).toBe(host.pid)
    // SIGTERM cannot end a stopped process: the kill escalates to SIGKILL
    await until('the hung engine to be gone', () => !pidAlive(first), 5000)
  })

  it('restarts a crashed engine after a growing delay, and gives up after the cap', async () => {
    const { spawner, pids } = counting()
    const host = new EngineHost(spawner, { restart: { baseDelayMs: 100, maxRestarts: 2, windowMs: 60_000 } })
    hosts.push(host)
    const delays: number[] = []
    host.on('restarting', (r: { delayMs: number }) => delays.push(r.delayMs))
    await host.start()
    for (let crash = 1; crash <= 2; crash++) {
      const restarted = new Promise((r) => host.once('restarted', r))
      process.kill(host.pid!, 'SIGKILL')
      await until('the crash to be seen', () => host.state === 'error')
      // a request made while it restarts waits for the new process
      const ping = await within(host.request('ping', {}), 'a ping after the restart')
      await within(restarted, 'the restart')
      expect(ping.pid).toBe(pids[crash])
    }
    expect(delays).toEqual([100, 200])
    process.kill(host.pid!, 'SIGKILL')
    await until('the host to give up', () => !!host.gaveUp)
    expect(host.state).toBe('error')
    expect(host.error).toMatch(/stopped 3 times within 1 min; it is not restarted automatically/)
    await expect(host.request('ping', {})).rejects.toThrow(/engine process is not running/)
    expect(pids).toHaveLength(3)
  })
})
