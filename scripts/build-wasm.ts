/**
 * Generates src/main/engine/kernels/wasm/heapLoopsBinary.ts from heapLoops.wat with wabt's wat2wasm (the npm package,
 * pinned in package.json), so the committed base64 binary is always the .wat's. tests/main/engine/kernels/heapLoops.test.ts
 * regenerates it and fails when it differs from the committed file.
 *
 *   npm run build:wasm            rewrite heapLoopsBinary.ts
 *   npm run build:wasm -- --check exit 1 if heapLoopsBinary.ts is not what the .wat gives
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'

const WASM_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main', 'engine', 'kernels', 'wasm')
export const WAT_PATH = join(WASM_DIR, 'heapLoops.wat')
export const BINARY_TS_PATH = join(WASM_DIR, 'heapLoopsBinary.ts')

/** wasm binary of a .wat text (SIMD and bulk memory on; no name section, so the bytes depend on the code alone). */
export async function watToWasm(name: string, text: string): Promise<Uint8Array> {
  const wabt = await wabtInit()
  const module = wabt.parseWat(name, text, { simd: true, bulk_memory: true })
  try {
    module.resolveNames()
    module.validate()
    return module.toBinary({ log: false, write_debug_names: false }).buffer
  } finally {
    module.destroy()
  }
}

/** The text heapLoopsBinary.ts must have for the current heapLoops.wat. */
export async function heapLoopsBinarySource(): Promise<string> {
  const bytes = await watToWasm('heapLoops.wat', readFileSync(WAT_PATH, 'utf8'))
  const version = (createRequire(import.meta.url)('wabt/package.json') as { version: string }).version
  return (
    `/** Generated from heapLoops.wat by scripts/build-wasm.ts (wabt ${version}): the wasm binary, base64. Do not edit; run \`npm run build:wasm\`. */\n` +
    `export const HEAP_LOOPS_WASM_BASE64 =\n  '${Buffer.from(bytes).toString('base64')}'\n`
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const source = await heapLoopsBinarySource()
  if (process.argv.includes('--check')) {
    if (readFileSync(BINARY_TS_PATH, 'utf8') !== source) {
      console.error(`${BINARY_TS_PATH} is not the binary of heapLoops.wat: run npm run build:wasm`)
      process.exit(1)
    }
    console.log('heapLoopsBinary.ts matches heapLoops.wat')
  } else {
    writeFileSync(BINARY_TS_PATH, source)
    console.log(`wrote ${BINARY_TS_PATH}`)
  }
}
