/**
 * Entry of the engine process: the only process that runs tensor work.
 * Started by main as an Electron utilityProcess (process.parentPort) or a Node child (process.send).
 */
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import type { BackendInfo } from '../../shared/types'
import type { EngineEvent, EngineMessage, EngineOpName, EngineOps, EngineRequest } from './protocol'
import { runJob } from './tasks/runJob'
import { inspectModel, measureDomainShift } from './tasks/models'
import { analyzeRun } from './tasks/analyzeRun'
import { runRobustness } from './tasks/robustness'
import { exportRun } from './tasks/exportRun'
import { runHeadProbe } from './tasks/headProbe'

/** the backend main asked for at init; every task waits for it (a task never re-picks one) */
let chosen: Promise<BackendInfo> | undefined
const ready = (): Promise<BackendInfo> => chosen ?? (chosen = initBackend())

/** runs in progress, by id, for cancellation */
const running = new Map<number, AbortController>()

type Handler<K extends EngineOpName> = (payload: EngineOps[K]['req']) => Promise<EngineOps[K]['res']>

interface ParentPortLike {
  on(ev: 'message', cb: (e: { data: unknown }) => void): void
  postMessage(m: unknown): void
}
const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort

function post(msg: EngineMessage): void {
  if (parentPort) parentPort.postMessage(msg)
  else if (process.send) process.send(msg)
}

export function emit(event: EngineEvent): void {
  post({ kind: 'event', event })
}

const handlers: { [K in EngineOpName]: Handler<K> } = {
  init: async ({ backend }) => {
    chosen = initBackend(backend ? { force: backend } : undefined)
    return chosen
  },
  ping: async () => ({ pid: process.pid, numTensors: tf.memory().numTensors, backend: tf.getBackend() }),
  'run.start': async ({ runId, spec, runDir, cacheDir, resume }) => {
    await ready()
    const ctrl = new AbortController()
    running.set(runId, ctrl)
    try {
      return await runJob({ runId, spec, runDir, cacheDir, resume, signal: ctrl.signal, emit })
    } finally {
      running.delete(runId)
    }
  },
  'run.cancel': async ({ runId }) => {
    const ctrl = running.get(runId)
    ctrl?.abort()
    return { cancelled: !!ctrl }
  },
  'model.inspect': async ({ path, arch }) => {
    await ready()
    return inspectModel(path, arch)
  },
  'model.shift': async (req) => {
    await ready()
    return measureDomainShift(req)
  },
  'run.analyze': async (req) => {
    await ready()
    return analyzeRun(req)
  },
  'run.export': async (req) => {
    await ready()
    return exportRun(req)
  },
  'sweep.headProbe': async (req) => {
    await ready()
    return runHeadProbe(req)
  },
  'run.robustness': async (req) => {
    await ready()
    return runRobustness({ ...req, onProgress: (done, total) => emit({ type: 'progress', task: `robustness run ${req.runId}`, done, total }) })
  },
}

async function handle(msg: EngineRequest): Promise<void> {
  const handler = handlers[msg.op] as Handler<EngineOpName> | undefined
  if (!handler) {
    post({ kind: 'response', id: msg.id, ok: false, error: { message: `unknown engine operation ${String(msg.op)}` } })
    return
  }
  try {
    const result = await handler(msg.payload as never)
    post({ kind: 'response', id: msg.id, ok: true, result })
  } catch (e) {
    const err = e as Error
    post({ kind: 'response', id: msg.id, ok: false, error: { message: err?.message ?? String(e), stack: err?.stack } })
  }
}

function onRaw(data: unknown): void {
  const msg = data as EngineRequest
  if (msg && msg.kind === 'request') void handle(msg)
}

if (parentPort) parentPort.on('message', (e) => onRaw(e.data))
else process.on('message', onRaw)
// a Node child exits when main goes away (IPC channel closed)
process.on('disconnect', () => process.exit(0))
