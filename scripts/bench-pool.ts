/**
 * The native thread pool's spin limit, A/B in one process: ResNet-20 32 px batch 64 training steps (forward, backward,
 * SGD, BN statistics) on wasm + the addon, the configurations alternating every 4 steps so that a machine whose speed
 * drifts (a VM's neighbours) affects each alike. Prints per configuration: step wall time, CPU time, cores used, the
 * pool's parallel calls per step, the workers' mean wake-up delay, the caller's wait for them, and the time inside addon
 * calls and inside their parallel sections (the rest of the step is JS and tfjs on one thread).
 *
 *   npm run bench:pool                       spin limits 0 and 300 us, 10 alternations
 *   npm run bench:pool -- --spin 0,100,300 --rounds 12
 * Run it on an idle machine, and again beside a busy process (e.g. `node -e 'for(;;);' &`) to see the pool stop
 * spinning when another process competes for the cores.
 */
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/engine/backend'
import { configureNative, nativeInfo } from '../src/main/engine/kernels'
import { createModel } from '../src/main/engine/models'
import { applyBatchNormUpdates, type BatchNormUpdate } from '../src/main/engine/nn'
import { gradientStep } from '../src/main/engine/train/accumulate'
import { SGD } from '../src/main/engine/train/sgd'

const { values } = parseArgs({ options: { spin: { type: 'string', default: '0,300' }, rounds: { type: 'string', default: '10' } } })
const spins = values.spin.split(',').map(Number)
const rounds = Number(values.rounds)
if (spins.some((s) => !(s >= 0)) || !(rounds >= 1)) throw new Error('bench:pool: --spin takes microseconds >= 0 (comma-separated), --rounds a count >= 1')

const backend = await initBackend({ force: 'wasm' })
if (!nativeInfo()) throw new Error(`bench:pool needs the native addon (backend: ${backend.device})`)
const model = createModel('resnet20', 10, { seed: 0 })
const params = model.namedParameters()
const opt = new SGD([{ name: 'all', params, lr: 1e-3 }], { momentum: 0.9 })
const x = tf.randomUniform([64, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D
const y = Int32Array.from({ length: 64 }, (_, i) => i % 10)

function step(): void {
  const pending: BatchNormUpdate[] = []
  const r = gradientStep(model, x, y, { bn: 'train', statUpdates: pending, variables: params.map(([, v]) => v) })
  opt.step(r.grads)
  applyBatchNormUpdates(pending)
  r.loss.dataSync()
  tf.dispose([r.loss, r.hits, ...Object.values(r.grads)])
}

for (let i = 0; i < 5; i++) step()
const totals = spins.map(() => ({ addonUs: 0, parUs: 0, ms: 0, cpuMs: 0, steps: 0, calls: 0, wakeUs: 0, tailUs: 0, spinningAtEnd: false }))
for (let round = 0; round < rounds; round++) {
  spins.forEach((spinUs, i) => {
    configureNative({ spinUs })
    step()
    const before = nativeInfo()!
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    for (let k = 0; k < 4; k++) step()
    const c = process.cpuUsage(c0)
    const after = nativeInfo()!
    const t = totals[i]
    t.ms += performance.now() - t0
    t.cpuMs += (c.user + c.system) / 1000
    t.steps += 4
    t.calls += after.poolCalls - before.poolCalls
    t.wakeUs += after.poolWakeUs - before.poolWakeUs
    t.tailUs += after.poolTailUs - before.poolTailUs
    t.addonUs += after.addonUs - before.addonUs
    t.parUs += after.parallelUs - before.parallelUs
    t.spinningAtEnd = after.spinning
  })
}
configureNative({ spinUs: 300 })
console.log(`ResNet-20 32 px batch 64 training step, ${nativeInfo()!.threads} threads, ${rounds} x 4 steps per configuration`)
spins.forEach((spinUs, i) => {
  const t = totals[i]
  console.log(
    `spin ${String(spinUs).padStart(4)} us: step ${(t.ms / t.steps).toFixed(1)} ms, CPU ${(t.cpuMs / t.steps).toFixed(1)} ms (${(t.cpuMs / t.ms).toFixed(2)} cores), ` +
      `${(t.calls / t.steps).toFixed(0)} parallel calls/step, wake-up ${(t.wakeUs / Math.max(1, t.calls)).toFixed(1)} us/call, ` +
      `caller waiting ${(t.tailUs / t.steps / 1000).toFixed(1)} ms/step, spinning at the end: ${t.spinningAtEnd}; in the addon ${(t.addonUs / t.steps / 1000).toFixed(1)} ms/step, ${(t.parUs / t.steps / 1000).toFixed(1)} of it parallel`,
  )
})
