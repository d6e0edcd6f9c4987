import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../src/main/engine/backend'
import { createModel } from '../../src/main/engine/models'
await initBackend({ force: 'wasm' })
const model = createModel('resnet20' as any, 10, { seed: 0 })
const x = tf.randomUniform([64, 32, 32, 3], -1, 1) as tf.Tensor4D
for (let i = 0; i < 2; i++) { const y = tf.tidy(() => model.forward(x, 'eval')); await y.data(); y.dispose() }
const t0 = performance.now()
for (let i = 0; i < 5; i++) { const y = tf.tidy(() => model.forward(x, 'eval')); await y.data(); y.dispose() }
console.log('img/s', (5 * 64) / ((performance.now() - t0) / 1000))
const p = await tf.profile(() => { const y = model.forward(x, 'eval'); y.dispose() })
const rows = new Map<string, [number, number]>()
for (const k of p.kernels) { const r = rows.get(k.name) ?? [0, 0]; r[0] += Number(k.kernelTimeMs); r[1]++; rows.set(k.name, r) }
console.log([...rows].sort((a, b) => b[1][0] - a[1][0]).map(([n, [ms, c]]) => `${n} ${ms.toFixed(1)} ms x${c}`).join('\n'))
