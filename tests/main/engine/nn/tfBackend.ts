/** Test helper: select a tfjs backend ('cpu' for gradient tests: wasm lacks some backward kernels until backend.ts registers them). */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'

export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  const ok = await tf.setBackend(name)
  if (!ok) throw new Error(`tfjs backend ${name} failed to initialise`)
  await tf.ready()
}
