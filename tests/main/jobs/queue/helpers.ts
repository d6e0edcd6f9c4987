/**
 * Real parts for the queue tests: a redis-server on a free port with a temporary folder (Debian's redis-server,
 * installed by .ci/run), `daft worker` processes run from source, the PIDs of a process's children.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../../../helpers/paths'

export const REDIS_SERVER = process.env.DAFT_REDIS_SERVER ?? '/usr/bin/redis-server'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface RedisServer {
  url: string
  port: number
  stop(): Promise<void>
}

/** redis-server on a free port, no persistence, its folder a temporary one; resolves when it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'daft-redis-'))
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 20_000)
    const onData = (d: Buffer): void => {
      out += d
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(t)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)))
    child.once('error', reject)
  })
  child.stdout!.removeAllListeners('data')
  child.stdout!.resume()
  child.stderr!.resume()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise((r) => {
          child.once('exit', r)
          child.kill('SIGTERM')
        })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface WorkerProcess {
  name: string
  child: ChildProcess
  /** everything it printed */
  output(): string
  /** resolves with the first line matching `re` (rejects after `ms` or when the worker exits) */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>
  stop(): Promise<void>
}

/** `daft worker` from source (bin/daft.mjs), as a user starts it. */
export function startWorker(redisUrl: string, name: string, dataDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): WorkerProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'daft.mjs'), 'worker', '--redis', redisUrl, '--name', name, '--data-dir', dataDir, ...extra], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const listeners = new Set<() => void>()
  const onData = (d: Buffer): void => {
    out += d
    for (const l of [...listeners]) l()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  return {
    name,
    child,
    output: () => out,
    waitFor(re, ms = 180_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = out.match(re)
          if (!m) return false
          cleanup()
          resolve(m)
          return true
        }
        const onExit = (code: number | null): void => {
          cleanup()
          reject(new Error(`worker ${name} exited (${code}) before ${re}:\n${out}`))
        }
        const t = setTimeout(() => {
          cleanup()
          reject(new Error(`worker ${name}: no ${re} within ${ms} ms:\n${out}`))
        }, ms)
        const cleanup = (): void => {
          clearTimeout(t)
          listeners.delete(listener)
          child.off('exit', onExit)
        }
        const listener = (): void => void check()
        if (check()) return
        listeners.add(listener)
        child.once('exit', onExit)
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      await new Promise((r) => {
        child.once('exit', r)
        child.kill('SIGKILL')
      })
    },
  }
}

/** PIDs whose parent is `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(e))
    } catch {
      // gone
    }
  }
  return out
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    // a zombie (exited, not yet reaped) is gone for our purposes
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
