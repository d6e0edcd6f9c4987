/**
 * Data worker thread entry (pool.ts starts it): turns batches of paths into normalised Float32Arrays with the
 * same code the main thread runs (batchIo.ts, imageOps.ts). A build entry of its own (electron.vite.config.ts:
 * out/main/dataWorker.js); from source, pool.ts loads this file through tsx.
 */
import { parentPort } from 'node:worker_threads'
import { processBatch, type WorkerHello, type WorkerReply, type WorkerRequest } from './batchIo'
import { selfTest } from './imageOps'

const port = parentPort
if (!port) throw new Error('dataWorker: runs only as a worker thread (DataWorkerPool starts it)')

port.on('message', (msg: WorkerRequest) => {
  processBatch(msg.spec, msg.jobs).then(
    (result) => {
      const reply: WorkerReply = { id: msg.id, ok: true, result }
      port.postMessage(reply, [result.x.buffer, result.y.buffer, result.index.buffer])
    },
    (e: unknown) => {
      const reply: WorkerReply = { id: msg.id, ok: false, error: String((e instanceof Error && e.stack) || e) }
      port.postMessage(reply)
    },
  )
})
const hello: WorkerHello = { ready: true, selfTest: selfTest() }
port.postMessage(hello)
