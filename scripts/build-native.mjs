// Builds the optional native convolution kernels (native/, a Node-API addon) with node-gyp.
// Never fatal: without a C++ toolchain the engine runs on tfjs's own wasm kernels (slower; see README).
// Node-API is ABI-stable, so the one binary serves Node (tests, serve, CLI) and Electron alike.
// DAFT_NATIVE=0 skips the build. Every attempt leaves native/build/build.log (date, command, result, full output):
// `daft doctor` and the Setup panel read it to say why the kernels are not there.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const say = (m) => console.log(`[daft native] ${m}`)
const logFile = join(root, 'native', 'build', 'build.log')

/** The last attempt's log; `result` starts with built | failed | skipped (src/main/doctor.ts parses it). */
function writeLog(result, command = '', output = '') {
  try {
    mkdirSync(dirname(logFile), { recursive: true })
    writeFileSync(logFile, [`# date: ${new Date().toISOString()}`, `# command: ${command}`, `# result: ${result}`, '', output].join('\n'))
  } catch (e) {
    say(`could not write ${logFile}: ${e?.message ?? e}`)
  }
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js')
  } catch {
    const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
    return existsSync(bundled) ? bundled : null
  }
}

function main() {
  if (process.env.DAFT_NATIVE === '0') {
    writeLog('skipped (DAFT_NATIVE=0)')
    return say('skipped (DAFT_NATIVE=0)')
  }
  const gyp = nodeGyp()
  if (!gyp) {
    writeLog('failed (node-gyp not found)', '', 'error: node-gyp not found (npm bundles it; or npm install -g node-gyp)')
    return say('node-gyp not found; the engine will use the wasm kernels only')
  }
  const args = [gyp, 'rebuild']
  // headers of the running Node (offline machines cannot download them); npm passes its own nodedir setting
  const prefix = join(dirname(process.execPath), '..')
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`)
  const t0 = Date.now()
  const r = spawnSync(process.execPath, args, { cwd: join(root, 'native'), encoding: 'utf8' })
  const command = [process.execPath, ...args].join(' ')
  const output = `${r.stdout ?? ''}${r.stderr ? `\n${r.stderr}` : ''}${r.error ? `\nerror: ${r.error.message}` : ''}`
  if (r.status !== 0) {
    writeLog(`failed (exit ${r.status ?? r.signal})`, command, output)
    say(`build failed (exit ${r.status ?? r.signal}); the engine will use the wasm kernels only. Last output:`)
    console.log((r.stderr || r.stdout).split('\n').slice(-15).join('\n'))
    return
  }
  const took = `${((Date.now() - t0) / 1000).toFixed(1)} s`
  writeLog(`built in ${took}`, command, output)
  say(`built native/build/Release/daft_native.node in ${took} (log: native/build/build.log)`)
}
try {
  main()
} catch (e) {
  writeLog('failed (build script error)', '', `error: ${e?.message ?? e}`)
  say(`build skipped: ${e?.message ?? e}`)
}
