import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Project root (the folder holding package.json). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Real test material, laid beside the project (never copied into the repo). */
export const SHARED_DATA = resolve(ROOT, '..', 'shared', 'data')
export const CIFAR_RESNET = resolve(SHARED_DATA, 'models', 'cifar-resnet')
export const DIGITS = resolve(SHARED_DATA, 'digits')

/**
 * What `daft doctor` says of an optional tfjs-node package on this machine. Offline, `npm ci` either drops the
 * package (its install script failed) or, depending on npm's handling of the failed script, leaves its folder
 * without libtensorflow: both are this environment's real states, and the doctor names each differently.
 */
export function tfjsNodeDoctorItem(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): { reason: string; action: string } {
  const dir = resolve(ROOT, 'node_modules', pkg)
  if (!existsSync(dir)) {
    return {
      reason: `not installed: no ${dir} (an optional dependency: npm drops it when its install script cannot download libtensorflow, e.g. offline)`,
      action: `npm install --foreground-scripts --save-optional --save-exact ${pkg}@4.22.0`,
    }
  }
  return {
    reason: `installed at ${dir}, but libtensorflow is missing: no libtensorflow*.so* in ${resolve(dir, 'deps', 'lib')} (its install script did not run, or its download failed)`,
    action: `npm rebuild --foreground-scripts ${pkg}`,
  }
}
