/**
 * The checks behind `daft doctor` and the Setup panel (`app.doctor`): which tensor backend loads here and, for each
 * piece that does not, exactly why (the paths and libraries looked at) and the command that fixes it.
 *
 * Pure Node: no tfjs import. Everything that loads native code (tfjs-node, the wasm backend, the native kernels) or
 * a foreign runtime (python3 + torch) runs in a child process with a time limit, so a crash, a missing shared
 * library or a hang reports as a failed check and never takes the caller down. The children run asynchronously:
 * calling this from the serve-mode or Electron main process does not block it.
 *
 * Longer than 400 lines on purpose: one check per piece of the set-up (each with its own probe, reason and fix),
 * sharing the child-process runner and the context; they read best side by side. The pure parsing is in
 * doctorParse.ts.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { arch, platform } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BackendName } from '../shared/types'
import type { DoctorItem, DoctorReport } from '../shared/doctor'
import { findLibraries, firstLine, isaFromCpuFlags, parseBuildLog, parseLdconfig, type BuildLog, type LdconfigEntry, type LibrarySearch } from './doctorParse'

export type { DoctorItem, DoctorReport, DoctorStatus } from '../shared/doctor'
export { findLibraries, isaFromCpuFlags, parseBuildLog, parseLdconfig, type BuildLog, type LdconfigEntry, type LibrarySearch } from './doctorParse'

/** tfjs-node-gpu 4.x links libtensorflow 2.9 built against CUDA 11.2 and cuDNN 8.1: these sonames must resolve. */
export const CUDA_LIBRARIES = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const

const TF_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const
const NATIVE_FILE = 'daft_native.node'
/** marks the one line of a child check's stdout that holds its JSON result (tfjs prints to stdout too) */
const MARK = '@@daft-doctor@@'

export interface DoctorOptions {
  /** project root (holds package.json and node_modules); default: found from this file upwards */
  root?: string
  env?: NodeJS.ProcessEnv
  /** per child check; default 90 s (loading libtensorflow with CUDA can take a while) */
  timeoutMs?: number
}

// ------------------------------------------------------------------------------------------------ pure parts: doctorParse.ts

// ------------------------------------------------------------------------------------------------ environment

/** The project root: the nearest folder above this file whose package.json is the workbench's. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'daft-workbench') return dir
    } catch {
      // not here
    }
    dir = dirname(dir)
  }
  return process.cwd()
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function realpath(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return p
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    return statSync(p).isFile()
  } catch {
    return false
  }
}

function onPath(cmd: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) if (isExecutable(join(dir, cmd))) return join(dir, cmd)
  return null
}

/** files named `name` under `dir`, at most `depth` levels down */
function findFile(dir: string, name: string, depth: number): string[] {
  const hits: string[] = []
  for (const e of listDir(dir)) {
    const p = join(dir, e)
    if (e === name) hits.push(p)
    else if (depth > 0) {
      try {
        if (statSync(p).isDirectory()) hits.push(...findFile(p, name, depth - 1))
      } catch {
        // unreadable: skip
      }
    }
  }
  return hits
}

interface ChildResult {
  ok: boolean
  error?: string
  [key: string]: unknown
}

/**
 * Runs `args` (a node script with -e, or another program) in a child process, never throwing: a crash, a signal, a
 * timeout or unparsable output all come back as { ok: false, error }. Node scripts print `MARK + JSON` on stdout.
 */
function runChild(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; json: boolean }): Promise<ChildResult & { stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    let stdout = ''
    let stderr = ''
    let settled = false
    const done = (r: ChildResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolvePromise({ ...r, stdout, stderr })
    }
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (e) {
      resolvePromise({ ok: false, error: (e as Error).message, stdout, stderr })
      return
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      done({ ok: false, error: `no answer within ${Math.round(opts.timeoutMs / 1000)} s` })
    }, opts.timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', (e) => done({ ok: false, error: e.message }))
    child.on('close', (code, signal) => {
      if (!opts.json) {
        done(code === 0 ? { ok: true } : { ok: false, error: firstLine(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`) })
        return
      }
      const line = stdout.split('\n').find((l) => l.startsWith(MARK))
      if (line) {
        try {
          done(JSON.parse(line.slice(MARK.length)) as ChildResult)
          return
        } catch {
          // fall through
        }
      }
      done({ ok: false, error: signal ? `the check process was killed by ${signal}` : firstLine(stderr) || `the check process exited with status ${code} and no result` })
    })
  })
}

/** A node child: the same binary as the caller (Electron runs as plain Node with ELECTRON_RUN_AS_NODE). */
function nodeCheck(script: string, o: { root: string; env: NodeJS.ProcessEnv; timeoutMs: number }, extraEnv: Record<string, string> = {}) {
  const prelude = `const __out = (o) => process.stdout.write('\\n${MARK}' + JSON.stringify(o) + '\\n', () => process.exit(0));
const __msg = (e) => String((e && e.message) || e).split('\\n').map((l) => l.trim()).filter(Boolean)[0] || String(e);
process.on('uncaughtException', (e) => __out({ ok: false, error: __msg(e) }));
process.on('unhandledRejection', (e) => __out({ ok: false, error: __msg(e) }));
`
  return runChild(process.execPath, ['-e', prelude + script], { cwd: o.root, env: { ...o.env, ELECTRON_RUN_AS_NODE: '1', ...extraEnv }, timeoutMs: o.timeoutMs, json: true })
}

// ------------------------------------------------------------------------------------------------ checks

interface Ctx {
  root: string
  env: NodeJS.ProcessEnv
  timeoutMs: number
  require: NodeJS.Require
  /** the root's package.json */
  pkg: { optionalDependencies?: Record<string, string>; dependencies?: Record<string, string> }
}

interface TfResult {
  item: DoctorItem
  loads: boolean
  gpuInUse?: boolean
}

function packageDir(ctx: Ctx, name: string): string | null {
  try {
    return dirname(ctx.require.resolve(`${name}/package.json`))
  } catch {
    const guess = join(ctx.root, 'node_modules', name)
    return existsSync(join(guess, 'package.json')) ? guess : null
  }
}

async function checkTensorflowPackage(ctx: Ctx, name: (typeof TF_PACKAGES)[number], cuda: LibrarySearch | null, gpuVisible: boolean): Promise<TfResult> {
  const gpu = name.endsWith('-gpu')
  const id = gpu ? 'tfjs-node-gpu' : 'tfjs-node'
  const label = gpu ? `${name} (TensorFlow on an NVIDIA GPU)` : `${name} (TensorFlow on the CPU)`
  const version = ctx.pkg.optionalDependencies?.[name] ?? '4.22.0'
  const rebuild = `npm rebuild --foreground-scripts ${name}`
  const network = 'needs network: its install script downloads libtensorflow (or from the mirror in $TFJS_NODE_CDN_STORAGE) and builds the binding'
  const dir = packageDir(ctx, name)
  if (!dir) {
    return {
      loads: false,
      item: {
        id,
        group: 'backend',
        label,
        status: 'missing',
        reason: `not installed: no ${join(ctx.root, 'node_modules', name)} (an optional dependency: npm drops it when its install script cannot download libtensorflow, e.g. offline)`,
        action: `npm install --foreground-scripts --save-optional --save-exact ${name}@${version}`,
        hint: network,
      },
    }
  }
  const libDir = join(dir, 'deps', 'lib')
  const libs = listDir(libDir).filter((f) => /^libtensorflow.*\.(so|dylib)/.test(f) || f === 'tensorflow.dll').sort()
  if (!libs.length) {
    return {
      loads: false,
      item: { id, group: 'backend', label, status: 'missing', reason: `installed at ${dir}, but libtensorflow is missing: no libtensorflow*.so* in ${libDir} (its install script did not run, or its download failed)`, action: rebuild, hint: network },
    }
  }
  const bindings = findFile(join(dir, 'lib'), 'tfjs_binding.node', 3)
  if (!bindings.length) {
    return {
      loads: false,
      item: { id, group: 'backend', label, status: 'missing', reason: `installed with libtensorflow (${libs.join(', ')} in ${libDir}), but its Node-API binding is missing: no tfjs_binding.node under ${join(dir, 'lib')}`, action: rebuild, hint: network },
    }
  }
  const r = await nodeCheck(
    `(async () => {
  const tf = require(${JSON.stringify(dir)});
  if (!(await tf.setBackend('tensorflow'))) throw new Error("tf.setBackend('tensorflow') returned false");
  await tf.ready();
  const sum = tf.tensor([1, 2, 3]).sum().dataSync()[0];
  if (sum !== 6) throw new Error('a test sum gave ' + sum);
  const b = tf.backend();
  __out({ ok: true, gpu: typeof b.isUsingGpuDevice === 'boolean' ? b.isUsingGpuDevice : null });
})().catch((e) => __out({ ok: false, error: __msg(e) }));`,
    ctx,
    { TF_CPP_MIN_LOG_LEVEL: '2' },
  )
  const where = `${libs.join(', ')} in ${libDir}, binding ${bindings[0]}`
  if (!r.ok) {
    const lib = /(lib[\w+.-]+\.so[.\d]*): cannot open shared object file/.exec(r.error ?? '')?.[1]
    const cudaLib = lib && CUDA_LIBRARIES.some((c) => lib.startsWith(c.slice(0, c.indexOf('.so'))))
    return {
      loads: false,
      item: {
        id,
        group: 'backend',
        label,
        status: 'failed',
        reason: `installed (${where}) but does not load: ${r.error}`,
        ...(cudaLib ? cudaAction() : { action: rebuild, hint: network }),
      },
    }
  }
  const gpuInUse = r.gpu === true
  const device = gpu ? (gpuInUse ? 'on the GPU' : `but on the CPU only (${gpuVisible ? 'libtensorflow found no usable GPU' : 'no NVIDIA GPU visible'}${cuda?.missing.length ? `; CUDA/cuDNN libraries missing: ${cuda.missing.join(', ')}` : ''})`) : 'on the CPU'
  return { loads: true, gpuInUse, item: { id, group: 'backend', label, status: 'ok', reason: `loads and runs ${device}: ${where}` } }
}

function cudaAction(): Pick<DoctorItem, 'action' | 'hint'> {
  return {
    action: "sudo apt-get install -y cuda-libraries-11-2 'libcudnn8=8.1.1.33-1+cuda11.2' && export LD_LIBRARY_PATH=/usr/local/cuda-11.2/lib64:$LD_LIBRARY_PATH",
    hint: "packages of NVIDIA's CUDA apt repository (add it as NVIDIA documents); tfjs-node-gpu 4.x needs exactly CUDA 11.2 and cuDNN 8.1: other majors do not load",
  }
}

function libraryDirs(env: NodeJS.ProcessEnv): { dirs: { dir: string; files: string[] }[]; looked: string[] } {
  const ld = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)
  const cudaRoots = listDir('/usr/local')
    .filter((d) => d.startsWith('cuda'))
    .sort()
    .map((d) => join('/usr/local', d, 'lib64'))
  const multiarch = `/usr/lib/${arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`
  const seen = new Set<string>()
  const dirs: { dir: string; files: string[] }[] = []
  const shown: string[] = []
  for (const d of [...ld, ...cudaRoots, multiarch]) {
    const real = realpath(d)
    if (seen.has(real)) continue
    seen.add(real)
    dirs.push({ dir: d, files: listDir(real) })
    if (!ld.includes(d)) shown.push(real === d ? d : `${d} -> ${real}`)
  }
  const looked = [ld.length ? `LD_LIBRARY_PATH (${ld.join(':')})` : 'LD_LIBRARY_PATH (unset)', ...shown]
  return { dirs, looked }
}

async function ldconfigCache(ctx: Ctx): Promise<{ entries: LdconfigEntry[]; note: string }> {
  const bin = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find(isExecutable) ?? onPath('ldconfig', ctx.env)
  if (!bin) return { entries: [], note: 'ldconfig not found' }
  const r = await runChild(bin, ['-p'], { cwd: ctx.root, env: ctx.env, timeoutMs: 15_000, json: false })
  return r.ok ? { entries: parseLdconfig(r.stdout), note: 'ldconfig -p' } : { entries: [], note: `ldconfig -p failed (${r.error})` }
}

function checkCuda(search: LibrarySearch, looked: string[], cacheNote: string): DoctorItem {
  const label = 'CUDA 11.2 / cuDNN 8.1 libraries (for tfjs-node-gpu)'
  const where = `looked in ${[...looked, cacheNote].join(', ')}`
  const others = search.others.length ? `; other versions present: ${search.others.map((o) => `${o.name} (${o.path})`).join(', ')}` : ''
  if (!search.missing.length) {
    return { id: 'cuda', group: 'backend', label, status: 'ok', reason: `all ${CUDA_LIBRARIES.length} found: ${search.found.map((f) => f.path).join(', ')}` }
  }
  const found = search.found.length ? `; found: ${search.found.map((f) => f.path).join(', ')}` : ''
  return {
    id: 'cuda',
    group: 'backend',
    label,
    status: 'missing',
    reason: `${search.missing.length} of ${CUDA_LIBRARIES.length} missing: ${search.missing.join(', ')}${found} (${where})${others}`,
    ...cudaAction(),
  }
}

function checkGpu(env: NodeJS.ProcessEnv): { item: DoctorItem; visible: boolean } {
  const label = 'NVIDIA GPU'
  const dev = existsSync('/dev/nvidia0')
  let driver: string | null = null
  try {
    driver = firstLine(readFileSync('/proc/driver/nvidia/version', 'utf8'))
  } catch {
    // no driver loaded
  }
  const smi = onPath('nvidia-smi', env)
  const parts = [dev ? '/dev/nvidia0 present' : 'no /dev/nvidia0', driver ? `driver: ${driver}` : 'no /proc/driver/nvidia/version', smi ? `nvidia-smi at ${smi}` : 'nvidia-smi not on PATH']
  if (dev || driver) return { visible: true, item: { id: 'gpu', group: 'backend', label, status: 'ok', reason: `visible: ${parts.join(', ')}` } }
  return {
    visible: false,
    item: {
      id: 'gpu',
      group: 'backend',
      label,
      status: 'missing',
      reason: `none visible: ${parts.join(', ')}`,
      action: 'sudo apt-get install -y nvidia-driver',
      hint: 'a driver >= 450.80 for CUDA 11.2, from Debian non-free; in a container, start it with --gpus all',
    },
  }
}

async function checkWasm(ctx: Ctx): Promise<{ item: DoctorItem; loads: boolean; simd: boolean; threads: number }> {
  const label = '@tensorflow/tfjs-backend-wasm (XNNPACK, SIMD)'
  const version = ctx.pkg.dependencies?.['@tensorflow/tfjs-backend-wasm'] ?? '4.22.0'
  let tfjs: string
  let wasm: string
  try {
    tfjs = ctx.require.resolve('@tensorflow/tfjs')
    wasm = ctx.require.resolve('@tensorflow/tfjs-backend-wasm')
  } catch (e) {
    return {
      loads: false,
      simd: false,
      threads: 0,
      item: { id: 'wasm', group: 'backend', label, status: 'missing', reason: `not installed: ${firstLine((e as Error).message)} (from ${ctx.root})`, action: 'npm ci' },
    }
  }
  const r = await nodeCheck(
    `(async () => {
  const tf = require(${JSON.stringify(tfjs)});
  const wasm = require(${JSON.stringify(wasm)});
  wasm.setWasmPaths(${JSON.stringify(dirname(wasm) + '/')});
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
  await tf.ready();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const sum = tf.tensor([1, 2, 3]).sum().dataSync()[0];
  if (sum !== 6) throw new Error('a test sum gave ' + sum);
  __out({ ok: true, simd, threads: Math.max(1, wasm.getThreadsCount()) });
})().catch((e) => __out({ ok: false, error: __msg(e) }));`,
    ctx,
  )
  if (!r.ok) {
    const warn = r.stderr.split('\n').find((l) => /wasm|Initialization/i.test(l))?.trim()
    return {
      loads: false,
      simd: false,
      threads: 0,
      item: {
        id: 'wasm',
        group: 'backend',
        label,
        status: 'failed',
        reason: `installed (${dirname(wasm)}) but does not load: ${r.error}${warn && warn !== r.error ? ` (${warn})` : ''}`,
        action: `npm install --save-exact @tensorflow/tfjs-backend-wasm@${version}`,
      },
    }
  }
  const simd = r.simd === true
  const threads = Number(r.threads) || 1
  return {
    loads: true,
    simd,
    threads,
    item: {
      id: 'wasm',
      group: 'backend',
      label,
      status: 'ok',
      reason: `loads: ${simd ? 'SIMD on' : 'SIMD off (this runtime has no WebAssembly SIMD: several times slower)'}, ${threads} thread${threads === 1 ? '' : 's'} (${dirname(wasm)})`,
    },
  }
}

function cpuFlags(): string[] {
  try {
    return /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? []
  } catch {
    return []
  }
}

async function checkNative(ctx: Ctx): Promise<{ item: DoctorItem; info: { isa: string; threads: number } | null }> {
  const label = `native kernels (native/build/Release/${NATIVE_FILE})`
  const env = ctx.env
  const settings = [
    env.DAFT_NATIVE === undefined ? 'DAFT_NATIVE unset (on)' : `DAFT_NATIVE=${env.DAFT_NATIVE}${env.DAFT_NATIVE === '0' ? ' (off)' : ' (on)'}`,
    ...(env.DAFT_NATIVE_ISA ? [`DAFT_NATIVE_ISA=${env.DAFT_NATIVE_ISA}`] : []),
    ...(env.DAFT_NATIVE_THREADS ? [`DAFT_NATIVE_THREADS=${env.DAFT_NATIVE_THREADS}`] : []),
  ].join(', ')
  // where the engine looks (engine/kernels/native.ts): DAFT_NATIVE_PATH, the source tree, a packaged app's resources
  const built = join(ctx.root, 'native', 'build', 'Release', NATIVE_FILE)
  const resources = (process as { resourcesPath?: string }).resourcesPath
  const candidates = [env.DAFT_NATIVE_PATH, built, resources && join(resources, 'native', NATIVE_FILE)].filter((p): p is string => !!p)
  const path = candidates.find((p) => existsSync(p)) ?? env.DAFT_NATIVE_PATH ?? built
  const logPath = join(ctx.root, 'native', 'build', 'build.log')
  const cpuIsa = isaFromCpuFlags(cpuFlags())
  const build = 'npm run native:build'
  if (!existsSync(path)) {
    let log: BuildLog | null = null
    try {
      log = parseBuildLog(readFileSync(logPath, 'utf8'))
    } catch {
      // no log
    }
    const would = `once built it would use ${cpuIsa} on this CPU`
    if (log?.result === 'failed') {
      return {
        info: null,
        item: {
          id: 'native',
          group: 'native',
          label,
          status: 'failed',
          reason: `not built: the last build ${log.summary}${log.when ? ` on ${log.when}` : ''}: ${log.error ?? 'see the log'} (full log: ${logPath}); ${would}; ${settings}`,
          action: `sudo apt-get install -y g++ make python3 && ${build}`,
          hint: 'a C++17 compiler, make and python3 for node-gyp; without them the engine uses the wasm kernels only (slower)',
        },
      }
    }
    const why = log ? `the last build ${log.summary}${log.when ? ` on ${log.when}` : ''} (log: ${logPath})` : `no build log at ${logPath}: npm install has not built it`
    return { info: null, item: { id: 'native', group: 'native', label, status: 'missing', reason: `not built: no ${path}; ${why}; ${would}; ${settings}`, action: build, hint: 'needs g++, make and python3 (node-gyp); the engine uses the wasm kernels meanwhile' } }
  }
  const r = await nodeCheck(
    `const a = require(${JSON.stringify(path)});
a.configure(${Number(env.DAFT_NATIVE_THREADS ?? 0) > 0 ? Number(env.DAFT_NATIVE_THREADS) : 0}, ${JSON.stringify(env.DAFT_NATIVE_ISA ?? '')});
const i = a.info();
__out({ ok: true, isa: i.isa, isas: i.isas, threads: i.threads });`,
    ctx,
  )
  if (!r.ok) {
    return { info: null, item: { id: 'native', group: 'native', label, status: 'failed', reason: `${path} exists but does not load: ${r.error}; ${settings}`, action: build } }
  }
  const isas = (r.isas as string[] | undefined) ?? []
  const detail = `${r.isa as string} micro-kernels (this CPU and build: ${isas.join(', ')}), ${r.threads as number} threads`
  if (env.DAFT_NATIVE === '0') {
    return { info: null, item: { id: 'native', group: 'native', label, status: 'missing', reason: `built and loads (${path}: ${detail}), but disabled: ${settings}; the engine uses the wasm kernels only`, action: 'unset DAFT_NATIVE' } }
  }
  return { info: { isa: r.isa as string, threads: r.threads as number }, item: { id: 'native', group: 'native', label, status: 'ok', reason: `built and loads: ${path}: ${detail}; ${settings}` } }
}

function checkElectron(ctx: Ctx): { item: DoctorItem; binary: boolean } {
  const dir = join(ctx.root, 'node_modules', 'electron')
  let version = ''
  try {
    version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    // not installed
  }
  const label = `Electron${version ? ` ${version}` : ''} binary`
  if (process.versions.electron) {
    return { binary: true, item: { id: 'electron', group: 'desktop', label, status: 'ok', reason: `running in Electron ${process.versions.electron} (${process.execPath})` } }
  }
  if (!version) {
    return { binary: false, item: { id: 'electron', group: 'desktop', label, status: 'missing', reason: `electron is not installed: no ${join(dir, 'package.json')}`, action: 'npm ci' } }
  }
  const pathTxt = join(dir, 'path.txt')
  const dist = join(dir, 'dist')
  let exe = ''
  try {
    exe = readFileSync(pathTxt, 'utf8').trim()
  } catch {
    // not downloaded
  }
  const binary = exe ? join(dist, exe) : ''
  if (binary && existsSync(binary)) {
    return { binary: true, item: { id: 'electron', group: 'desktop', label, status: 'ok', reason: `downloaded: ${binary}` } }
  }
  const parts = [exe ? `${pathTxt} names ${exe}` : `no ${pathTxt}`, existsSync(dist) ? (binary ? `no ${binary}` : `${dist} exists`) : `no ${dist}`]
  return {
    binary: false,
    item: {
      id: 'electron',
      group: 'desktop',
      label,
      status: 'missing',
      reason: `not downloaded: ${parts.join(', ')} (electron fetches its binary on first \`npm start\`; offline that fails). Serve mode (npm run serve) and the CLI do not need it`,
      action: 'node node_modules/electron/install.js',
      hint: `needs network to Electron's release downloads, or electron_config_cache set to a folder holding electron-v${version}-${platform()}-${arch()}.zip`,
    },
  }
}

function checkElectronSqlite(ctx: Ctx, electronBinary: boolean): DoctorItem {
  const file = join(ctx.root, '.electron-native', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
  const label = "better-sqlite3 built for Electron (.electron-native/)"
  if (existsSync(file)) return { id: 'electron-sqlite', group: 'desktop', label, status: 'ok', reason: `built: ${file}` }
  return {
    id: 'electron-sqlite',
    group: 'desktop',
    label,
    status: 'missing',
    reason: `not built: no ${file} (scripts/postinstall.mjs compiles it against Electron's headers once the Electron binary is there${electronBinary ? '' : ', and it is not'}); without it the desktop app cannot open its store`,
    action: electronBinary ? 'npm run rebuild:electron' : 'node node_modules/electron/install.js && npm run rebuild:electron',
    hint: "needs network for Electron's headers, g++ and make",
  }
}

function checkChromium(): DoctorItem {
  const p = '/usr/bin/chromium'
  const label = 'Chromium for the end-to-end tests'
  return isExecutable(p)
    ? { id: 'chromium', group: 'dev', label, status: 'ok', reason: `found: ${p}` }
    : { id: 'chromium', group: 'dev', label, status: 'optional-missing', reason: `no ${p} (only tests/e2e need it; bash .ci/run installs it)`, action: 'sudo apt-get install -y chromium' }
}

async function checkTorch(ctx: Ctx): Promise<DoctorItem> {
  const py = '/usr/bin/python3'
  const label = "python3-torch for the reference scripts (scripts/ref)"
  const action = 'sudo apt-get install -y python3-torch python3-torchvision'
  if (!isExecutable(py)) return { id: 'torch', group: 'dev', label, status: 'optional-missing', reason: `no ${py} (only the PyTorch reference fixtures need it)`, action }
  const r = await runChild(py, ['-c', 'import torch; print(torch.__version__)'], { cwd: ctx.root, env: ctx.env, timeoutMs: ctx.timeoutMs, json: false })
  if (r.ok) return { id: 'torch', group: 'dev', label, status: 'ok', reason: `${py} imports torch ${r.stdout.trim()}` }
  const err = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? r.error
  return { id: 'torch', group: 'dev', label, status: 'optional-missing', reason: `${py} -c 'import torch' fails: ${err} (only the PyTorch reference fixtures need it)`, action }
}

// ------------------------------------------------------------------------------------------------ report

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu']

/** Runs every check (the slow ones in parallel child processes) and picks the backend the engine would use. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const t0 = Date.now()
  const root = opts.root ?? projectRoot()
  const env = opts.env ?? process.env
  let pkg: Ctx['pkg'] = {}
  try {
    pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Ctx['pkg']
  } catch {
    // not a project root: the checks say what is missing
  }
  const ctx: Ctx = { root, env, timeoutMs: opts.timeoutMs ?? 90_000, require: createRequire(join(root, 'package.json')), pkg }

  const { dirs, looked } = libraryDirs(env)
  const cache = await ldconfigCache(ctx)
  const cudaSearch = findLibraries(CUDA_LIBRARIES, dirs, cache.entries, arch() === 'x64' ? 'x86-64' : undefined)
  const gpu = checkGpu(env)
  const electron = checkElectron(ctx)

  const [tfGpu, tfCpu, wasm, native, torch] = await Promise.all([
    checkTensorflowPackage(ctx, TF_PACKAGES[0], cudaSearch, gpu.visible),
    checkTensorflowPackage(ctx, TF_PACKAGES[1], null, gpu.visible),
    checkWasm(ctx),
    checkNative(ctx),
    checkTorch(ctx),
  ])
  const cpu: DoctorItem = { id: 'cpu', group: 'backend', label: 'cpu (plain JavaScript)', status: 'ok', reason: 'always available, the slowest; used when nothing above loads' }

  // the engine's choice (src/main/engine/backend.ts): DAFT_BACKEND forces one, else the first that loads
  const describe = (name: BackendName): string | null => {
    if (name === 'tensorflow') {
      if (tfGpu.loads) return tfGpu.gpuInUse ? 'GPU (libtensorflow CUDA, via tfjs-node-gpu)' : 'CPU (libtensorflow, via tfjs-node-gpu: no usable GPU)'
      return tfCpu.loads ? 'CPU (libtensorflow, via tfjs-node)' : null
    }
    if (name === 'wasm') {
      if (!wasm.loads) return null
      const plural = (k: number): string => `${k} thread${k === 1 ? '' : 's'}`
      const n = native.info
      return `CPU (wasm${wasm.simd ? ' SIMD' : ''}, ${plural(wasm.threads)})` + (n ? ` + native kernels (${n.isa}, ${plural(n.threads)})` : ' without native kernels')
    }
    return 'CPU (JavaScript)'
  }
  const forced = env.DAFT_BACKEND?.trim()
  let backend: DoctorReport['backend']
  if (forced) {
    const name = forced as BackendName
    const d = BACKENDS.includes(name) ? describe(name) : null
    backend = d
      ? { name, detail: `${d} (forced by DAFT_BACKEND=${forced})` }
      : { name: null, detail: BACKENDS.includes(name) ? `DAFT_BACKEND=${forced} forces a backend that does not load here: the engine will not start (unset DAFT_BACKEND)` : `DAFT_BACKEND=${forced} is not one of ${BACKENDS.join(', ')}: the engine will not start` }
  } else {
    const name = BACKENDS.find((b) => describe(b) !== null)!
    const skipped = BACKENDS.slice(0, BACKENDS.indexOf(name)).map((b) => `${b} does not load`)
    backend = { name, detail: describe(name)! + (skipped.length ? ` (${skipped.join(', ')}: see below)` : '') }
  }

  return {
    backend,
    items: [tfGpu.item, checkCuda(cudaSearch, looked, cache.note), gpu.item, tfCpu.item, wasm.item, cpu, native.item, electron.item, checkElectronSqlite(ctx, electron.binary), checkChromium(), torch],
    root,
    platform: `${platform()} ${arch()}, ${process.versions.electron ? `Electron ${process.versions.electron}, ` : ''}Node ${process.versions.node}`,
    checkedAt: new Date().toISOString(),
    seconds: (Date.now() - t0) / 1000,
  }
}
