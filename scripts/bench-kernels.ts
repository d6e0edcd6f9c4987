/**
 * Per-kernel benchmark of the performance layers in src/main/engine/kernels, on the shapes the workbench trains:
 * CIFAR ResNet-20 (32 px, batch 64) and MobileNetV2 / ResNet at 224 px (batch 32 for BatchNorm, 8 for convolutions),
 * plus channel counts that are not a multiple of 4. It is the measurement behind which layers exist (ARCHITECTURE.md).
 *
 *   npm run bench:kernels [-- --reps 5] [--rounds 1] [--quick] [--json]
 *
 * Columns (ms per call, the best of --reps calls after one warm-up, and of --rounds runs of both child processes; the
 * machine may be shared, so best-of):
 *   BatchNorm, training forward (batch statistics + y) and its gradient (dx, dgamma, dbeta):
 *     cpu       the JS loops on the cpu backend (bnLoops.ts)
 *     wasm JS   the same JS loops over the wasm heap (what wasm would run without the SIMD module)
 *     wasm SIMD the wasm SIMD loops of wasm/heapLoops.wat on the heap (wasm/bnSimd.ts; wasm's kernel without native)
 *     native    the addon's threaded loops (native.ts; wasm's kernel when the addon is built)
 *   Conv2DBackpropFilter / Conv2DBackpropInput:
 *     tfjs      tfjs-backend-wasm's own kernel (it has none for the filter gradient)
 *     wasm      conv2dBackprop.ts (im2col on the heap + XNNPACK GEMM / convolutions; wasm's kernel without native)
 *     native    the addon's kernels
 * The wasm columns run in a child process with DAFT_NATIVE=0 (so the wasm kernels call XNNPACK, not the addon), the
 * native ones in a second child (skipped when the addon is not built).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'

const argv = process.argv.slice(2)
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}
const quick = argv.includes('--quick')
const reps = Number(opt('reps') ?? (quick ? 2 : 5))
const rounds = Math.max(1, Number(opt('rounds') ?? 1))

interface Row {
  kernel: string
  shape: string
  impl: string
  ms: number
}

const BN_SHAPES: number[][] = quick
  ? [[8, 16, 16, 16], [8, 8, 8, 10]]
  : [
      [64, 32, 32, 16], // ResNet-20 stage 1
      [64, 16, 16, 32],
      [64, 8, 8, 64],
      [32, 112, 112, 16], // MobileNetV2 224, first block
      [32, 56, 56, 144], // 24 * 6 expansion
      [64, 32, 32, 10], // channels not a multiple of 4
      [32, 28, 28, 30],
    ]

/** [x shape, filter size, cout, stride] */
const CONV_SHAPES: [number[], number, number, number][] = quick
  ? [[[8, 16, 16, 16], 3, 16, 1]]
  : [
      [[64, 32, 32, 16], 3, 16, 1], // ResNet-20
      [[64, 32, 32, 16], 3, 32, 2],
      [[64, 16, 16, 32], 3, 32, 1],
      [[64, 8, 8, 64], 3, 64, 1],
      [[8, 56, 56, 64], 3, 64, 1], // ResNet-18 224, batch 8
      [[8, 224, 224, 3], 3, 32, 2], // MobileNetV2 224 stem, batch 8
      [[8, 28, 28, 32], 1, 192, 1], // MobileNetV2 pointwise expansion
    ]

function best(fn: () => void): number {
  fn()
  let min = Infinity
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    fn()
    min = Math.min(min, performance.now() - t0)
  }
  return min
}

async function child(part: 'wasm' | 'native'): Promise<Row[]> {
  await import('@tensorflow/tfjs-backend-wasm') // registers wasm's own kernels, so the original can be timed
  const tfjsBackpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm') // before registerTrainingKernels replaces it
  const { initBackend } = await import('../src/main/engine/backend')
  const { BN_TRAIN, BN_TRAIN_GRAD, makeBatchNormKernels, cpuLoops } = await import('../src/main/engine/kernels/batchNorm')
  const { jsLoops } = await import('../src/main/engine/kernels/bnLoops')
  const { wasmLoops } = await import('../src/main/engine/kernels/wasm/bnSimd')
  const { loadNative, nativeBatchNormLoops, nativeConvKernels } = await import('../src/main/engine/kernels/native')
  const { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } = await import('../src/main/engine/kernels/conv2dBackprop')
  const { wasmBackend, heapF32 } = await import('../src/main/engine/kernels/wasmInternals')
  await initBackend({ force: 'cpu' })
  await initBackend({ force: 'wasm' })
  const rows: Row[] = []
  const wasm = wasmBackend(tf.findBackend('wasm'))
  const native = part === 'native' ? loadNative() : null
  if (part === 'native' && !native) return rows

  type Loops = Parameters<typeof makeBatchNormKernels>[0]
  const bnImpls: [string, 'cpu' | 'wasm', Loops][] =
    part === 'wasm'
      ? [
          ['cpu', 'cpu', cpuLoops],
          ['wasm JS', 'wasm', (b) => jsLoops((t) => heapF32(wasmBackend(b), t), (s) => wasmBackend(b).makeOutput(s, 'float32'))],
          ['wasm SIMD', 'wasm', wasmLoops],
        ]
      : [['native', 'wasm', nativeBatchNormLoops(native!.addon)]]
  for (const shape of BN_SHAPES) {
    const c = shape[shape.length - 1]
    for (const [impl, backendName, loops] of bnImpls) {
      await tf.setBackend(backendName)
      const backend = tf.findBackend(backendName)!
      const k = makeBatchNormKernels(loops)
      const x = tf.randomNormal(shape, 1, 2)
      const dy = tf.randomNormal(shape)
      const [g, b] = [tf.randomUniform([c], 0.5, 1.5), tf.randomNormal([c])]
      const run = (name: string, inputs: Record<string, tf.Tensor>) => () => {
        const out = k[name]({ inputs: inputs as never, backend, attrs: { epsilon: 1e-5 } as never })
        for (const t of [out].flat()) backend.disposeData(t.dataId)
      }
      const [, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x, scale: g, offset: b }, { epsilon: 1e-5 }) as tf.Tensor[]
      rows.push({ kernel: 'BN train forward', shape: `[${shape}]`, impl, ms: best(run(BN_TRAIN, { x, scale: g, offset: b })) })
      rows.push({ kernel: 'BN train backward', shape: `[${shape}]`, impl, ms: best(run(BN_TRAIN_GRAD, { dy, x, scale: g, mean, variance })) })
      tf.dispose([x, dy, g, b, mean, variance])
    }
  }

  await tf.setBackend('wasm')
  const nativeConv = native ? nativeConvKernels(native.addon, {}) : null
  for (const [xShape, f, co, s] of CONV_SHAPES) {
    const filterShape = [f, f, xShape[3], co] as [number, number, number, number]
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape, s, 1, 'same')
    const x = tf.randomNormal(xShape)
    const dy = tf.randomNormal(info.outShape)
    const w = tf.randomNormal(filterShape)
    const label = `[${xShape}] ${f}x${f}->${co} s${s}`
    const attrs = { strides: s, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined }
    const filterAttrs = { ...attrs, filterShape }
    const inputAttrs = { ...attrs, inputShape: xShape }
    const time = (fn: () => tf.TensorInfo | tf.TensorInfo[]) =>
      best(() => {
        for (const t of [fn()].flat()) wasm.disposeData(t.dataId)
      })
    const filterImpls: [string, () => tf.TensorInfo | tf.TensorInfo[]][] = []
    const inputImpls: [string, () => tf.TensorInfo | tf.TensorInfo[]][] = []
    if (part === 'wasm') {
      filterImpls.push(['wasm', () => conv2DBackpropFilterWasm('wasm', wasm, { x, dy }, filterAttrs as never)])
      if (tfjsBackpropInput) inputImpls.push(['tfjs', () => tfjsBackpropInput.kernelFunc({ inputs: { dy, filter: w }, backend: wasm as never, attrs: inputAttrs as never })])
      inputImpls.push(['wasm', () => conv2DBackpropInputWasm('wasm', wasm, { dy, filter: w }, inputAttrs as never)])
    } else if (nativeConv) {
      filterImpls.push(['native', () => nativeConv.Conv2DBackpropFilter({ inputs: { x, dy }, backend: wasm, attrs: filterAttrs as never })])
      inputImpls.push(['native', () => nativeConv.Conv2DBackpropInput({ inputs: { dy, filter: w }, backend: wasm, attrs: inputAttrs as never })])
    }
    for (const [impl, fn] of filterImpls) rows.push({ kernel: 'Conv2DBackpropFilter', shape: label, impl, ms: time(fn) })
    for (const [impl, fn] of inputImpls) rows.push({ kernel: 'Conv2DBackpropInput', shape: label, impl, ms: time(fn) })
    tf.dispose([x, dy, w])
  }
  return rows
}

function runChild(part: 'wasm' | 'native'): Row[] {
  const env = { ...process.env, ...(part === 'wasm' ? { DAFT_NATIVE: '0' } : {}) }
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', part, ...argv], {
    encoding: 'utf8',
    env,
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  if (r.status !== 0) throw new Error(`bench-kernels: the ${part} child failed (exit ${r.status})`)
  const line = r.stdout.split('\n').find((l) => l.startsWith('ROWS '))
  return line ? (JSON.parse(line.slice(5)) as Row[]) : []
}

const childPart = opt('child') as 'wasm' | 'native' | undefined
if (childPart) {
  console.log('ROWS ' + JSON.stringify(await child(childPart)))
} else {
  const rows: Row[] = []
  for (let round = 0; round < rounds; round++) {
    for (const r of [...runChild('wasm'), ...runChild('native')]) {
      const same = rows.find((x) => x.kernel === r.kernel && x.shape === r.shape && x.impl === r.impl)
      if (!same) rows.push(r)
      else same.ms = Math.min(same.ms, r.ms)
    }
  }
  if (argv.includes('--json')) {
    console.log(JSON.stringify(rows))
  } else {
    const impls = ['cpu', 'tfjs', 'wasm JS', 'wasm SIMD', 'wasm', 'native'].filter((i) => rows.some((r) => r.impl === i))
    const keys = [...new Set(rows.map((r) => `${r.kernel}|${r.shape}`))]
    console.log(`best of ${reps} calls x ${rounds} round(s), ms (native: ${rows.some((r) => r.impl === 'native') ? 'built' : 'not built, column omitted'})`)
    console.log(['kernel'.padEnd(22), 'shape'.padEnd(28), ...impls.map((i) => i.padStart(10))].join(' '))
    for (const key of keys) {
      const [kernel, shape] = key.split('|')
      const cell = (impl: string): string => {
        const r = rows.find((x) => x.kernel === kernel && x.shape === shape && x.impl === impl)
        return (r ? r.ms.toFixed(1) : '-').padStart(10)
      }
      console.log([kernel.padEnd(22), shape.padEnd(28), ...impls.map(cell)].join(' '))
    }
  }
}
