/** Serve mode and tests: the engine as a Node child process (child_process.fork). */
import { fork } from 'node:child_process'
import type { EngineChannel, EngineMessage, EngineSpawner } from '../engine/protocol'

export interface ForkSpawnerOptions {
  /** engine entry: out/main/engine.js when built, src/main/engine/worker.ts from source */
  entry: string
  env?: NodeJS.ProcessEnv
  /** kill(): SIGTERM, then SIGKILL when the process is still there after this long (default 3 s; a hung or stopped engine) */
  killGraceMs?: number
}

/** tsx's loader as an absolute URL: `--import tsx` would be looked up from the current folder, which fails when
 *  the CLI runs from source outside the project (`npx daft ...` in another folder). */
function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx')
  } catch {
    return 'tsx'
  }
}

export function forkSpawner({ entry, env, killGraceMs = 3000 }: ForkSpawnerOptions): EngineSpawner {
  return () => {
    const fromSource = entry.endsWith('.ts')
    const child = fork(entry, [], {
      execArgv: fromSource ? ['--import', tsxLoader()] : [],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    let exited = false
    const exitCallbacks: ((code: number | null) => void)[] = []
    const exit = (code: number | null): void => {
      if (exited) return
      exited = true
      for (const cb of exitCallbacks.splice(0)) cb(code)
    }
    child.once('exit', (code) => exit(code))
    // a failed spawn (or a send on a closed channel without a callback) emits 'error': never let it throw in main
    child.on('error', () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) exit(child.exitCode)
    })
    const channel: EngineChannel = {
      pid: child.pid,
      // errors (the channel closed under us) surface as the process's exit
      send: (msg) => {
        if (child.connected) child.send(msg, (err) => void err)
      },
      onMessage: (cb) => child.on('message', (m) => cb(m as EngineMessage)),
      onExit: (cb) => {
        if (exited) queueMicrotask(() => cb(child.exitCode))
        else exitCallbacks.push(cb)
      },
      kill: () => {
        if (exited) return
        child.kill('SIGTERM')
        const t = setTimeout(() => {
          if (!exited) child.kill('SIGKILL')
        }, killGraceMs)
        t.unref()
      },
    }
    return channel
  }
}
