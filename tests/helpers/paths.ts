import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Project root (the folder holding package.json). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Real test material, laid beside the project (never copied into the repo). */
export const SHARED_DATA = resolve(ROOT, '..', 'shared', 'data')
export const CIFAR_RESNET = resolve(SHARED_DATA, 'models', 'cifar-resnet')
export const DIGITS = resolve(SHARED_DATA, 'digits')
