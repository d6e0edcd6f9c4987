/** Serve mode and tests: the engine as a Node child process (child_process.fork). */
import { fork } from 'node:child_process'
import type { EngineChannel, EngineMessage, EngineSpawner } from '../engine/protocol'

export interface ForkSpawnerOptions {
  /** engine entry: out/main/engine.js when built, src/main/engine/worker.ts from source */
  entry: string
  env?: NodeJS.ProcessEnv
}

export function forkSpawner({ entry, env }: ForkSpawnerOptions): EngineSpawner {
  return () => {
    const fromSource = entry.endsWith('.ts')
    const child = fork(entry, [], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    const channel: EngineChannel = {
      pid: child.pid,
      send: (msg) => child.send(msg),
      onMessage: (cb) => child.on('message', (m) => cb(m as EngineMessage)),
      onExit: (cb) => child.once('exit', (code) => cb(code)),
      kill: () => child.kill(),
    }
    return channel
  }
}
