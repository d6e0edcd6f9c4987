/**
 * Rough training-speed benchmark for the engine backend: a CIFAR ResNet-20-shaped network (conv3x3 16/32/64,
 * batch-statistics BatchNorm, ReLU, option-A shortcuts, global average pool, linear 64->10, softmax
 * cross-entropy), forward + backward with tf.variableGrads, batch 64 of 32x32x3 by default.
 * Written with plain tf ops (the real model lives in src/main/engine/models).
 *
 *   npx tsx scripts/bench-kernels.ts [--backend wasm|cpu] [--batch 64] [--steps 5] [--profile]
 */
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/engine/backend'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

const backendName = arg('backend', 'wasm') as 'wasm' | 'cpu'
const batch = Number(arg('batch', '64'))
const steps = Number(arg('steps', '5'))
const profile = process.argv.includes('--profile')

const info = await initBackend({ force: backendName })
console.log(`backend ${info.name} (${info.device}); custom kernels: ${info.kernels.join(', ') || 'none'}`)

const params: tf.Variable[] = []
function conv(cin: number, cout: number): tf.Variable<tf.Rank.R4> {
  const v = tf.variable<tf.Rank.R4>(tf.randomNormal([3, 3, cin, cout], 0, Math.sqrt(2 / (9 * cin))))
  params.push(v)
  return v
}
function bn(c: number): [tf.Variable, tf.Variable] {
  const g = tf.variable(tf.ones([c]))
  const b = tf.variable(tf.zeros([c]))
  params.push(g, b)
  return [g, b]
}
function bnRelu(x: tf.Tensor4D, [g, b]: [tf.Variable, tf.Variable], relu = true): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  const y = tf.batchNorm(x, mean, variance, b, g, 1e-5) as tf.Tensor4D
  return relu ? tf.relu(y) : y
}
type Block = { stride: number; c1: tf.Variable<tf.Rank.R4>; b1: [tf.Variable, tf.Variable]; c2: tf.Variable<tf.Rank.R4>; b2: [tf.Variable, tf.Variable]; pad: number }
const stem = conv(3, 16)
const stemBn = bn(16)
const blocks: Block[] = []
let cin = 16
for (const [planes, stride0] of [[16, 1], [32, 2], [64, 2]]) {
  for (let i = 0; i < 3; i++) {
    const stride = i === 0 ? stride0 : 1
    blocks.push({ stride, c1: conv(cin, planes), b1: bn(planes), c2: conv(planes, planes), b2: bn(planes), pad: planes !== cin ? planes / 4 : 0 })
    cin = planes
  }
}
const fcW = tf.variable(tf.randomNormal([64, 10], 0, 0.1))
const fcB = tf.variable(tf.zeros([10]))
params.push(fcW, fcB)

function forward(x: tf.Tensor4D): tf.Tensor2D {
  let h = bnRelu(tf.conv2d(x, stem, 1, 'same'), stemBn)
  for (const b of blocks) {
    let out = bnRelu(tf.conv2d(h, b.c1, b.stride, 'same'), b.b1)
    out = bnRelu(tf.conv2d(out, b.c2, 1, 'same'), b.b2, false)
    let short = h
    if (b.stride !== 1 || b.pad) {
      short = tf.stridedSlice(h, [0, 0, 0, 0], h.shape, [1, b.stride, b.stride, 1]) as tf.Tensor4D
      short = tf.pad(short, [[0, 0], [0, 0], [0, 0], [b.pad, b.pad]])
    }
    h = tf.relu(tf.add(out, short))
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D
  return tf.add(tf.matMul(pooled, fcW), fcB)
}

const x = tf.randomUniform([batch, 32, 32, 3]) as tf.Tensor4D
const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10)
function step(): void {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, forward(x)) as tf.Scalar, params)
    // plain SGD so every gradient is consumed
    for (const p of params) p.assign(p.sub(grads[p.name].mul(0.01)))
    value.dataSync()
  })
}

step() // warm-up (XNNPACK operator creation, allocation)
const t0 = performance.now()
const cpu0 = process.cpuUsage()
for (let i = 0; i < steps; i++) step()
const ms = (performance.now() - t0) / steps
const cpu = process.cpuUsage(cpu0)
const cpuMs = (cpu.user + cpu.system) / 1000 / steps
// wall time suffers when other processes share the cores; CPU time of this (single-threaded) process does not
console.log(
  `train step (fwd+bwd+SGD), batch ${batch}: wall ${ms.toFixed(0)} ms/step = ${((batch * 1000) / ms).toFixed(1)} images/s; ` +
    `CPU ${cpuMs.toFixed(0)} ms/step = ${((batch * 1000) / cpuMs).toFixed(1)} images/s per core`,
)

if (profile) {
  const p = await tf.profile(() => step())
  const byKernel = new Map<string, number>()
  for (const k of p.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number))
  const rows = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)
  for (const [name, t] of rows) console.log(`  ${name.padEnd(36)} ${t.toFixed(1)} ms`)
}
