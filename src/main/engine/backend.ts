/**
 * Picks the fastest tfjs backend that loads here and registers the kernels training needs on it.
 * Order: tensorflow (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node; optional dependencies that are often
 * absent) -> wasm (@tensorflow/tfjs-backend-wasm, XNNPACK + SIMD) -> cpu (plain JavaScript).
 * DAFT_BACKEND=tensorflow|wasm|cpu (or opts.force) forces one; it is an error if the forced one cannot load.
 */
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { nativeInfo, nativeLoadError, registerTrainingKernels } from './kernels/index'
import type { BackendInfo, BackendName } from '../../shared/types'

export type { BackendInfo, BackendName } from '../../shared/types'

export interface InitBackendOptions {
  force?: BackendName
  /** wasm only: requested thread count (tfjs 4.22 forces 1 thread under Node) */
  threads?: number
}

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu']
const requireOptional = createRequire(import.meta.url)

/** One cached result per request ('auto' or a forced name), so repeated calls return the same info object. */
const cache = new Map<string, Promise<BackendInfo>>()

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String((e as { message?: unknown })?.message ?? e)
  return msg.split('\n')[0].trim()
}

function parseForced(opts: InitBackendOptions | undefined): { name?: BackendName; source?: string } {
  if (opts?.force != null) {
    if (!BACKENDS.includes(opts.force)) {
      throw new Error(`initBackend: unknown backend '${opts.force}' in opts.force (expected ${BACKENDS.join(', ')})`)
    }
    return { name: opts.force, source: 'opts.force' }
  }
  const env = process.env.DAFT_BACKEND?.trim()
  if (env) {
    if (!BACKENDS.includes(env as BackendName)) {
      throw new Error(`initBackend: DAFT_BACKEND='${env}' is not one of ${BACKENDS.join(', ')}`)
    }
    return { name: env as BackendName, source: `DAFT_BACKEND=${env}` }
  }
  return {}
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name)
  if (!ok) throw new Error(`tf.setBackend('${name}') failed (see the warning tfjs printed above)`)
  await tf.ready()
}

/**
 * Why an installed tfjs-node(-gpu) cannot load, read from its folder (null when it looks complete or is absent).
 * Requiring a package whose install script did not fetch libtensorflow registers its ~150 kernels before the
 * binding fails, and the second package then prints a warning for each: so the folder is checked first
 * (the same test `daft doctor` makes).
 */
function missingBinding(pkg: string): string | null {
  let dir: string
  try {
    dir = dirname(requireOptional.resolve(`${pkg}/package.json`))
  } catch {
    return null // not installed: the require below says so
  }
  const lib = join(dir, 'lib')
  const hasBinding = existsSync(lib) && readdirSync(lib, { recursive: true }).some((f) => String(f).endsWith('tfjs_binding.node'))
  return hasBinding ? null : `${pkg} is installed but not built: no tfjs_binding.node under ${lib} (its install script could not download libtensorflow; see daft doctor)`
}

async function tryTensorflow(): Promise<BackendInfo> {
  const reasons: string[] = []
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const unbuilt = missingBinding(pkg)
      if (unbuilt) {
        reasons.push(unbuilt)
        continue
      }
      requireOptional(pkg) // registers the 'tensorflow' backend; throws if absent or if its native binding is missing
      if (tf.findBackendFactory('tensorflow') == null) throw new Error('it did not register a tensorflow backend')
      await activate('tensorflow')
      const gpu = pkg.endsWith('-gpu')
      return {
        name: 'tensorflow',
        device: gpu ? 'GPU (libtensorflow CUDA, via tfjs-node-gpu)' : 'CPU (libtensorflow, via tfjs-node)',
        simd: true,
        threads: 0, // libtensorflow manages its own thread pool
        kernels: registerTrainingKernels('tensorflow'),
      }
    } catch (e) {
      const missing = (e as { code?: string }).code === 'MODULE_NOT_FOUND' && firstLine(e).includes(`'${pkg}'`)
      reasons.push(missing ? `${pkg} is not installed` : `${pkg} failed to load: ${firstLine(e)}`)
    }
  }
  throw new Error(reasons.join('; '))
}

async function tryWasm(threads?: number): Promise<BackendInfo> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm')
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm')
  } catch (e) {
    throw new Error(`@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(e)}`, { cause: e })
  }
  if (tf.engine().registry.wasm == null) {
    // Point the loader at the package's own .wasm files (bundlers may move the JS away from them).
    const dist = dirname(requireOptional.resolve('@tensorflow/tfjs-backend-wasm'))
    if (existsSync(join(dist, 'tfjs-backend-wasm-simd.wasm'))) wasm.setWasmPaths(dist + '/')
    if (threads != null) wasm.setThreadsCount(threads)
  }
  try {
    await activate('wasm')
  } catch (e) {
    throw new Error(`wasm backend failed to initialise: ${firstLine(e)}`, { cause: e })
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))
  const n = Math.max(1, wasm.getThreadsCount())
  const kernels = registerTrainingKernels('wasm')
  const native = nativeInfo()
  const plural = (k: number): string => `${k} thread${k === 1 ? '' : 's'}`
  return {
    name: 'wasm',
    device: `CPU (wasm${simd ? ' SIMD' : ''}, ${plural(n)})` + (native ? ` + native kernels (${native.isa}, ${plural(native.threads)})` : ''),
    simd,
    threads: native ? Math.max(n, native.threads) : n,
    kernels,
    ...(native ? {} : { nativeUnavailable: nativeLoadError() }),
  }
}

async function tryCpu(): Promise<BackendInfo> {
  await activate('cpu')
  return { name: 'cpu', device: 'CPU (JavaScript)', simd: false, threads: 1, kernels: registerTrainingKernels('cpu') }
}

async function load(name: BackendName, threads?: number): Promise<BackendInfo> {
  if (name === 'tensorflow') return tryTensorflow()
  if (name === 'wasm') return tryWasm(threads)
  return tryCpu()
}

async function select(opts: InitBackendOptions | undefined): Promise<BackendInfo> {
  const forced = parseForced(opts)
  if (forced.name) {
    try {
      const info = await load(forced.name, opts?.threads)
      return { ...info, fallbackReason: `forced by ${forced.source}` }
    } catch (e) {
      throw new Error(`initBackend: backend '${forced.name}' (forced by ${forced.source}) cannot load: ${firstLine(e)}`, { cause: e })
    }
  }
  const reasons: string[] = []
  for (const name of BACKENDS) {
    try {
      const info = await load(name, opts?.threads)
      return reasons.length ? { ...info, fallbackReason: reasons.join(' | ') } : info
    } catch (e) {
      reasons.push(`${name}: ${firstLine(e)}`)
    }
  }
  throw new Error(`initBackend: no tfjs backend could load (${reasons.join(' | ')})`)
}

/**
 * Selects and activates the backend (see the file comment), awaits tf.ready() and registers the training kernels.
 * Idempotent: the same request returns the same BackendInfo (re-activating that backend if something switched away).
 */
export async function initBackend(opts?: InitBackendOptions): Promise<BackendInfo> {
  const key = parseForced(opts).name ?? 'auto'
  let pending = cache.get(key)
  if (!pending) {
    pending = select(opts)
    cache.set(key, pending)
    pending.catch(() => cache.delete(key))
  }
  const info = await pending
  if (tf.getBackend() !== info.name) await activate(info.name)
  return info
}
