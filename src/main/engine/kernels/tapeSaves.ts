/**
 * The tensors the gradient tape saves for the backward pass, without a kernel call each. tfjs-core 4.22's engine saves
 * every input / output a gradient needs through `engine.clone`, which runs the Identity kernel and records two tape
 * nodes (Identity's and clone's own) per saved tensor: ~190 clones, ~380 extra tape nodes per ResNet-20 training step
 * that the backward pass then walks, all single-threaded JS between the native kernels. On backends whose Identity
 * shares the data (wasm with kernels/identity.ts, cpu), a saved tensor is instead a new tensor on the same data
 * (reference counted, disposed as before), with no tape node: the copy is read only by the gradient functions, never
 * by the forward computation, so first-order gradients do not go through it. Under a nested gradient (tf.grad of
 * tf.grad: `gradientDepth` > 1) the original clone runs, since there the saved tensors are differentiated too.
 *
 * This is tfjs-core's private engine (like wasmInternals.ts for the backends): `installTapeSaves` checks the pieces it
 * uses and installs nothing, returning the reason, when they are missing (another tfjs version).
 */
import * as tf from '@tensorflow/tfjs'

interface EngineInternals {
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[]
  makeTensorFromDataId(dataId: object, shape: number[], dtype: tf.DataType, backend?: object): tf.Tensor
  keep<T extends tf.Tensor>(t: T): T
  state: { gradientDepth: number; tensorInfo: { get(dataId: object): { backend: { incRef?(dataId: object): void } } | undefined } }
}

const SHARING_BACKENDS = new Set(['wasm', 'cpu'])
let installed: ((tensors: tf.Tensor[]) => tf.Tensor[]) | null = null
let engineOwn: ((tensors: tf.Tensor[]) => tf.Tensor[]) | null = null

/** What is missing from tfjs-core's engine for installTapeSaves ([] when nothing is). */
export function missingEngineInternals(engine: unknown): string[] {
  const e = engine as Partial<EngineInternals> | null
  const missing: string[] = (['saveTensorsForBackwardMode', 'makeTensorFromDataId', 'keep'] as const).filter((k) => typeof e?.[k] !== 'function')
  if (typeof e?.state?.gradientDepth !== 'number') missing.push('state.gradientDepth')
  if (typeof e?.state?.tensorInfo?.get !== 'function') missing.push('state.tensorInfo')
  return missing
}

/**
 * Installs the kernel-free tape saves on tfjs's engine (once). Returns null when installed (or already), else why not.
 * Only tensors on the active backend, when that is wasm or cpu, take the new path (their Identity kernels share data:
 * the same thing); any other tensor, and every save under a nested gradient, goes through the engine's own clone.
 */
export function installTapeSaves(): string | null {
  const engine = tf.engine() as unknown as EngineInternals
  if (installed && engine.saveTensorsForBackwardMode === installed) return null
  const missing = missingEngineInternals(engine)
  if (missing.length) return `tfjs-core ${tf.version_core}: the engine has no ${missing.join(', ')} (written against 4.22)`
  engineOwn = engine.saveTensorsForBackwardMode
  const original = engine.saveTensorsForBackwardMode.bind(engine)
  installed = (tensors: tf.Tensor[]): tf.Tensor[] => {
    if (engine.state.gradientDepth > 1 || !SHARING_BACKENDS.has(tf.getBackend())) return original(tensors)
    // the active backend's instance (tf.findBackend would initialise a backend that is registered but not yet used)
    const active = tf.backend() as { incRef?(dataId: object): void }
    return tensors.map((t) => {
      const backend = engine.state.tensorInfo.get(t.dataId)?.backend
      if (backend !== active || typeof active.incRef !== 'function') return original([t])[0]
      active.incRef(t.dataId)
      return engine.keep(engine.makeTensorFromDataId(t.dataId, t.shape, t.dtype, active))
    })
  }
  engine.saveTensorsForBackwardMode = installed
  return null
}

/** Puts the engine's own tape saves back (tests and benchmarks compare the two). */
export function uninstallTapeSaves(): void {
  const engine = tf.engine() as unknown as EngineInternals
  if (installed && engineOwn && engine.saveTensorsForBackwardMode === installed) engine.saveTensorsForBackwardMode = engineOwn
  installed = null
}
