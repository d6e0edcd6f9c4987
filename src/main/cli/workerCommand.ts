/**
 * `daft worker`: a headless worker of the run queue on Redis (jobs/queue/worker.ts). It trains the runs apps and
 * `daft run --redis ...` queue, on this machine's best backend, until it is stopped (SIGINT/SIGTERM: the runs in
 * training finish first; a second signal leaves them to another worker, which resumes them from their checkpoints).
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from './command'
import { helpText, intOption, parse } from './args'
import { forkSpawner } from '../jobs/forkSpawner'
import { QueueWorker } from '../jobs/queue/worker'
import { DEFAULT_QUEUE, parsePathMap } from '../jobs/queue/protocol'
import { defaultDataDir } from '../dataDir'
import type { BackendName } from '../../shared/types'
import pkg from '../../../package.json'

const here = dirname(fileURLToPath(import.meta.url))
function engineEntry(): string {
  const built = join(here, 'engine.js')
  return existsSync(built) ? built : resolve(here, '..', 'engine', 'worker.ts')
}

const USAGE = 'worker --redis redis://HOST:PORT [--concurrency N] [--path-map REMOTE=LOCAL ...]'
export const workerCommand: Command = {
  summary: 'train queued runs from Redis (a GPU box of the lab); runs until stopped',
  usage: USAGE,
  help: helpText(
    USAGE,
    'Takes runs from the run queue on Redis (queued by the app or `daft run` with a queue configured) and trains them on this machine\'s best backend (tfjs-node-gpu where CUDA is there). It announces its host, backend, device and version; the app lists it under Workers. A run whose model or dataset differs (content fingerprint) from what it was planned with is refused with an error on the run. Run folders and checkpoints are on the shared folder the app names; the datasets and the model are read where the app has them, through --path-map.',
    [
      ['--redis URL', 'the queue\'s Redis, redis://HOST:PORT (default $DAFT_REDIS)'],
      ['--concurrency N', 'runs trained at once, one engine process each (default 1)'],
      ['--path-map REMOTE=LOCAL', 'a path prefix of the app (REMOTE) as this machine reaches it (LOCAL); repeat for several (datasets, model, shared folder)'],
      ['--backend NAME', 'tensorflow, wasm or cpu (default: the best that loads)'],
      ['--name NAME', 'this worker\'s name in the app (default HOST-PID)'],
      ['--data-dir DIR', 'where this worker keeps its decoded-image cache (default $DAFT_DATA_DIR, else the app\'s data folder)'],
    ],
    [
      'Stop it with Ctrl-C (SIGINT) or SIGTERM: runs in training finish first; a second signal stops at once, and BullMQ hands the runs to another worker, which resumes them from their last checkpoint (so does a worker that is killed or loses power).',
    ],
  ),
  async run(args) {
    const { values } = parse(
      args,
      {
        redis: { type: 'string' },
        concurrency: { type: 'string' },
        'path-map': { type: 'string', multiple: true },
        backend: { type: 'string' },
        name: { type: 'string' },
        'data-dir': { type: 'string' },
      },
      USAGE,
    )
    const redis = (values.redis as string | undefined) ?? process.env.DAFT_REDIS
    if (!redis) throw new Error('--redis redis://HOST:PORT (or $DAFT_REDIS) is required')
    const maps = ((values['path-map'] as unknown as string[] | undefined) ?? []).map(parsePathMap)
    const worker = new QueueWorker({
      redis,
      concurrency: intOption(values, 'concurrency', 1),
      pathMap: maps,
      spawner: forkSpawner({ entry: engineEntry() }),
      backend: (values.backend as BackendName | undefined) ?? (process.env.DAFT_BACKEND as BackendName | undefined),
      cacheDir: join(defaultDataDir(values['data-dir'] as string | undefined), 'cache'),
      name: values.name as string | undefined,
      version: pkg.version,
    })
    const info = await worker.start()
    const line = `worker ${info.name} on ${info.host}: ${info.backend} (${info.device}), daft ${info.version}, ${info.concurrency} at a time, queue ${DEFAULT_QUEUE} on ${redis}`
    if (values.json) console.log(JSON.stringify({ ready: true, ...info }))
    else console.log(line)
    for (const m of maps) console.log(`  path map: ${m.from} -> ${m.to}`)
    await new Promise<void>((done) => {
      let stopping = false
      const stop = (sig: string): void => {
        if (stopping) {
          // the engines exit with this process; BullMQ sees the runs' jobs stall and hands them on
          console.log(`${sig} again: stopping now; runs in training go back to the queue`)
          process.exit(130)
        }
        stopping = true
        console.log(`${sig}: finishing the runs in training, then stopping (again to stop at once)`)
        void worker.close(false).finally(done)
      }
      process.on('SIGINT', () => stop('SIGINT'))
      process.on('SIGTERM', () => stop('SIGTERM'))
    })
    return 0
  },
}
