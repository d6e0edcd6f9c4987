import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../src/main/engine/backend'
await initBackend({ force: 'wasm' })
const shapes: [number[], number[], number][] = [
  [[64, 32, 32, 16], [3, 3, 16, 16], 1], [[64, 16, 16, 32], [3, 3, 32, 32], 1], [[64, 8, 8, 64], [3, 3, 64, 64], 1],
  [[64, 16, 16, 128], [3, 3, 128, 128], 1], [[64, 4, 4, 256], [3, 3, 256, 256], 1], [[64, 2, 2, 512], [3, 3, 512, 512], 1],
]
for (const [xs, ws, s] of shapes) {
  const x = tf.randomNormal(xs) as tf.Tensor4D, w = tf.randomNormal(ws) as tf.Tensor4D
  const dy = tf.tidy(() => tf.conv2d(x, w, s, 'same'))
  const flops = 2 * dy.size * ws[0] * ws[1] * ws[2]
  const time = (f: () => tf.Tensor) => { for (let i = 0; i < 3; i++) f().dispose(); const t0 = performance.now(); const n = 10; for (let i = 0; i < n; i++) f().dispose(); return (performance.now() - t0) / n }
  const fwd = time(() => tf.conv2d(x, w, s, 'same'))
  const bf = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: ws } as any) as tf.Tensor)
  const bi = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: xs } as any) as tf.Tensor)
  console.log(JSON.stringify(xs), JSON.stringify(ws), `fwd ${fwd.toFixed(2)} ms ${(flops / fwd / 1e6).toFixed(0)} GF/s | filter ${bf.toFixed(2)} ms ${(flops / bf / 1e6).toFixed(0)} | input ${bi.toFixed(2)} ms ${(flops / bi / 1e6).toFixed(0)}`)
  tf.dispose([x, w, dy])
}
