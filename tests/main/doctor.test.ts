/**
 * `daft doctor` / app.doctor: the pure parts (ldconfig parsing, library search, build log, checklist text), this
 * machine's real state (no tfjs-node, no libtensorflow, no GPU, CUDA 13 only, native kernels built, no Electron
 * binary) with the exact messages, and fake project roots for the states this machine is not in.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CUDA_LIBRARIES, findLibraries, isaFromCpuFlags, parseBuildLog, parseLdconfig, runDoctor } from '../../src/main/doctor'
import { doctorCounts, doctorExitCode, formatDoctor, type DoctorReport } from '../../src/shared/doctor'
import { ROOT, tfjsNodeDoctorItem } from '../helpers/paths'
import { API_OPERATIONS } from '../../src/shared/api'
import { createServices, type ServiceContext } from '../../src/main/services'

/** the environment without the settings that change the answers (the checks read these) */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of ['LD_LIBRARY_PATH', 'DAFT_BACKEND', 'DAFT_NATIVE', 'DAFT_NATIVE_ISA', 'DAFT_NATIVE_THREADS', 'DAFT_NATIVE_PATH']) delete env[k]
  return { ...env, ...extra }
}

describe('ldconfig -p parsing and the library search', () => {
  const LDCONFIG = [
    "917 libs found in cache `/etc/ld.so.cache'",
    '\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1',
    '\tlibcudart.so.13 (libc6,x86-64) => /usr/local/cuda-13.0/lib/libcudart.so.13',
    '\tlibcudnn.so.8 (libc6,x86-64, OS ABI: Linux 3.2.0) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8',
    '\tlibcublas.so.11 (libc6) => /usr/lib/i386-linux-gnu/libcublas.so.11',
    'garbage line',
    '',
  ].join('\n')

  it('reads name, flags and path of every cache line, skipping the header and anything else', () => {
    expect(parseLdconfig(LDCONFIG)).toEqual([
      { name: 'libz.so.1', flags: 'libc6,x86-64', path: '/lib/x86_64-linux-gnu/libz.so.1' },
      { name: 'libcudart.so.13', flags: 'libc6,x86-64', path: '/usr/local/cuda-13.0/lib/libcudart.so.13' },
      { name: 'libcudnn.so.8', flags: 'libc6,x86-64, OS ABI: Linux 3.2.0', path: '/usr/lib/x86_64-linux-gnu/libcudnn.so.8' },
      { name: 'libcublas.so.11', flags: 'libc6', path: '/usr/lib/i386-linux-gnu/libcublas.so.11' },
    ])
    expect(parseLdconfig('')).toEqual([])
  })

  it('finds sonames in the listed folders first, then in the cache of the right ABI, and names other versions', () => {
    const dirs = [{ dir: '/opt/cuda/lib64', files: ['libcufft.so.10', 'libcufft.so.10.4.2', 'libcurand.so', 'README'] }]
    const r = findLibraries(CUDA_LIBRARIES, dirs, parseLdconfig(LDCONFIG), 'x86-64')
    expect(r.found).toEqual([
      { name: 'libcufft.so.10', path: '/opt/cuda/lib64/libcufft.so.10' },
      { name: 'libcudnn.so.8', path: '/usr/lib/x86_64-linux-gnu/libcudnn.so.8' },
    ])
    // the 32-bit libcublas.so.11 does not count for a 64-bit process
    expect(r.missing).toEqual(['libcudart.so.11.0', 'libcublas.so.11', 'libcublasLt.so.11', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11'])
    expect(r.others).toEqual([
      { name: 'libcudart.so.13', path: '/usr/local/cuda-13.0/lib/libcudart.so.13' },
      { name: 'libcufft.so.10.4.2', path: '/opt/cuda/lib64/libcufft.so.10.4.2' },
    ])
    // without an ABI filter the 32-bit one counts
    expect(findLibraries(['libcublas.so.11'], [], parseLdconfig(LDCONFIG)).found).toEqual([{ name: 'libcublas.so.11', path: '/usr/lib/i386-linux-gnu/libcublas.so.11' }])
  })

  it('picks the instruction set the addon would (native/src/addon.cc)', () => {
    expect(isaFromCpuFlags(['fpu', 'avx2', 'fma', 'avx512f', 'avx512vl'], 'x64')).toBe('avx512')
    expect(isaFromCpuFlags(['avx2', 'fma', 'avx512f'], 'x64')).toBe('avx2')
    expect(isaFromCpuFlags(['avx2'], 'x64')).toBe('generic')
    expect(isaFromCpuFlags(['avx2', 'fma', 'avx512f', 'avx512vl'], 'arm64')).toBe('generic')
  })
})

describe('native/build/build.log', () => {
  it('a failed compile: the compiler error line, not node-gyp noise', () => {
    const log = parseBuildLog(
      [
        '# date: 2026-11-29T16:22:00.000Z',
        '# command: /usr/bin/node node-gyp.js rebuild',
        '# result: failed (exit 1)',
        '',
        'gyp info spawn make',
        'make: Entering directory',
        "../src/addon.cc:1:10: fatal error: node_api.h: No such file or directory",
        'gyp ERR! build error',
        'gyp ERR! stack Error: `make` failed with exit code: 2',
      ].join('\n'),
    )
    expect(log).toEqual({ result: 'failed', summary: 'failed (exit 1)', when: '2026-11-29T16:22:00.000Z', error: '../src/addon.cc:1:10: fatal error: node_api.h: No such file or directory' })
  })
  it('no compiler at all: node-gyp says so', () => {
    const log = parseBuildLog(['# date: d', '# command: c', '# result: failed (exit 1)', '', 'gyp info it worked if it ends with ok', 'gyp ERR! stack Error: not found: make', 'gyp ERR! not ok'].join('\n'))
    expect(log.error).toBe('gyp ERR! stack Error: not found: make')
  })
  it('built and skipped builds; anything else is unknown', () => {
    expect(parseBuildLog('# date: d\n# command: c\n# result: built in 41.2 s\n\nok')).toEqual({ result: 'built', summary: 'built in 41.2 s', when: 'd', error: undefined })
    expect(parseBuildLog('# date: d\n# command: \n# result: skipped (DAFT_NATIVE=0)\n').result).toBe('skipped')
    expect(parseBuildLog('make: ***').result).toBe('unknown')
  })
})

describe('the checklist text', () => {
  const report: DoctorReport = {
    backend: { name: 'wasm', detail: 'CPU (wasm SIMD, 1 thread) without native kernels (tensorflow does not load: see below)' },
    root: '/p',
    platform: 'linux x64, Node 20.20.2',
    checkedAt: '2026-11-29T00:00:00.000Z',
    seconds: 1.25,
    items: [
      { id: 'tfjs-node', group: 'backend', label: '@tensorflow/tfjs-node', status: 'missing', reason: 'not installed', action: 'npm install x', hint: 'needs network' },
      { id: 'wasm', group: 'backend', label: 'wasm', status: 'ok', reason: 'loads' },
      { id: 'native', group: 'native', label: 'native kernels', status: 'failed', reason: 'not built', action: 'npm run native:build' },
      { id: 'torch', group: 'dev', label: 'torch', status: 'optional-missing', reason: 'no torch', action: 'sudo apt-get install -y python3-torch' },
    ],
  }
  it('one line per item under its group, the fix and its note indented; counts at the end', () => {
    expect(formatDoctor(report).split('\n')).toEqual([
      'daft doctor (linux x64, Node 20.20.2; /p)',
      'tensor backend: wasm: CPU (wasm SIMD, 1 thread) without native kernels (tensorflow does not load: see below)',
      '',
      'Tensor backends (tried in order: tensorflow > wasm > cpu)',
      '  [missing]  @tensorflow/tfjs-node: not installed',
      '             fix: npm install x',
      '             note: needs network',
      '  [ok]       wasm: loads',
      '',
      'Native kernels (C++ convolutions for the wasm backend)',
      '  [failed]   native kernels: not built',
      '             fix: npm run native:build',
      '',
      'Development (optional)',
      '  [optional] torch: no torch',
      '             fix: sudo apt-get install -y python3-torch',
      '',
      '1 ok, 2 to fix, 1 optional missing; run the commands in /p (checked in 1.3 s)',
    ])
    expect(doctorCounts(report)).toEqual({ ok: 1, toFix: 2, optional: 1 })
  })
  it('exit status 1 only when a check failed (missing pieces have a fallback)', () => {
    expect(doctorExitCode(report)).toBe(1)
    expect(doctorExitCode({ ...report, items: report.items.filter((i) => i.status !== 'failed') })).toBe(0)
  })
})

describe("this machine's real state", () => {
  let r: DoctorReport
  beforeAll(async () => {
    r = await runDoctor({ env: cleanEnv() })
  })
  const item = (id: string) => r.items.find((i) => i.id === id)!
  const isa = isaFromCpuFlags(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [])
  const threads = cpus().length
  const plural = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`

  it('picks wasm with the native kernels, tensorflow not loading', () => {
    expect(r.root).toBe(ROOT)
    expect(r.backend).toEqual({ name: 'wasm', detail: `CPU (wasm SIMD, 1 thread) + native kernels (${isa}, ${plural(threads)}) (tensorflow does not load: see below)` })
    expect(r.items.map((i) => [i.id, i.status])).toEqual([
      ['tfjs-node-gpu', 'missing'],
      ['cuda', 'missing'],
      ['gpu', 'missing'],
      ['tfjs-node', 'missing'],
      ['wasm', 'ok'],
      ['cpu', 'ok'],
      ['native', 'ok'],
      ['electron', 'missing'],
      ['electron-sqlite', 'missing'],
      ['chromium', 'ok'],
      ['torch', 'ok'],
    ])
    expect(doctorExitCode(r)).toBe(0)
  })

  it('tfjs-node-gpu and tfjs-node: not installed (npm dropped them) or installed without libtensorflow, with the fix', () => {
    for (const [id, pkg] of [
      ['tfjs-node-gpu', '@tensorflow/tfjs-node-gpu'],
      ['tfjs-node', '@tensorflow/tfjs-node'],
    ] as const) {
      expect(item(id)).toMatchObject({
        ...tfjsNodeDoctorItem(pkg),
        hint: 'needs network: its install script downloads libtensorflow (or from the mirror in $TFJS_NODE_CDN_STORAGE) and builds the binding',
      })
    }
    expect(item('tfjs-node-gpu').label).toBe('@tensorflow/tfjs-node-gpu (TensorFlow on an NVIDIA GPU)')
  })

  it('CUDA 11.2 / cuDNN 8.1: none of the 8 libraries, where it looked, and the CUDA 13 it found instead', () => {
    const head = `8 of 8 missing: ${CUDA_LIBRARIES.join(', ')} (looked in LD_LIBRARY_PATH (unset), `
    const reason = item('cuda').reason
    expect(reason.startsWith(head)).toBe(true)
    expect(reason).toContain('/usr/lib/x86_64-linux-gnu, ldconfig -p)')
    if (existsSync('/usr/local/cuda-13.0/lib/libcudart.so.13') && !existsSync('/usr/local/cuda-11.2')) {
      expect(reason).toBe(
        `${head}/usr/local/cuda/lib64 -> /usr/local/cuda-13.0/lib, /usr/lib/x86_64-linux-gnu, ldconfig -p); other versions present: libcudart.so.13 (/usr/local/cuda/lib64/libcudart.so.13)`,
      )
    }
    expect(item('cuda').action).toBe("sudo apt-get install -y cuda-libraries-11-2 'libcudnn8=8.1.1.33-1+cuda11.2' && export LD_LIBRARY_PATH=/usr/local/cuda-11.2/lib64:$LD_LIBRARY_PATH")
  })

  it('no GPU visible', () => {
    expect(item('gpu')).toMatchObject({ reason: 'none visible: no /dev/nvidia0, no /proc/driver/nvidia/version, nvidia-smi not on PATH', action: 'sudo apt-get install -y nvidia-driver' })
  })

  it('wasm loads with SIMD; cpu always', () => {
    expect(item('wasm').reason).toBe(`loads: SIMD on, 1 thread (${ROOT}/node_modules/@tensorflow/tfjs-backend-wasm/dist)`)
    expect(item('cpu').reason).toBe('always available, the slowest; used when nothing above loads')
  })

  it('native kernels built and loading, with the instruction set and DAFT_NATIVE', () => {
    expect(item('native').reason).toBe(
      `built and loads: ${ROOT}/native/build/Release/daft_native.node: ${isa} micro-kernels (this CPU and build: ${['avx512', 'avx2', 'generic'].slice(['avx512', 'avx2', 'generic'].indexOf(isa)).join(', ')}), ${threads} threads; DAFT_NATIVE unset (on)`,
    )
    expect(item('native').action).toBeUndefined()
  })

  it('Electron: binary not downloaded, so no better-sqlite3 Electron build either', () => {
    expect(item('electron')).toEqual({
      id: 'electron',
      group: 'desktop',
      label: 'Electron 45.5.0 binary',
      status: 'missing',
      reason: `not downloaded: no ${ROOT}/node_modules/electron/path.txt, no ${ROOT}/node_modules/electron/dist (electron fetches its binary on first \`npm start\`; offline that fails). Serve mode (npm run serve) and the CLI do not need it`,
      action: 'node node_modules/electron/install.js',
      hint: "needs network to Electron's release downloads, or electron_config_cache set to a folder holding electron-v45.5.0-linux-x64.zip",
    })
    expect(item('electron-sqlite')).toMatchObject({
      reason: `not built: no ${ROOT}/.electron-native/better-sqlite3/build/Release/better_sqlite3.node (scripts/postinstall.mjs compiles it against Electron's headers once the Electron binary is there, and it is not); without it the desktop app cannot open its store`,
      action: 'node node_modules/electron/install.js && npm run rebuild:electron',
    })
  })

  it('development tools: chromium and torch for /usr/bin/python3', () => {
    expect(item('chromium').reason).toBe('found: /usr/bin/chromium')
    expect(item('torch').reason).toMatch(/^\/usr\/bin\/python3 imports torch \S+$/)
  })

  it('DAFT_BACKEND=tensorflow forces a backend that does not load; DAFT_NATIVE=0 turns the kernels off', async () => {
    const forced = await runDoctor({ env: cleanEnv({ DAFT_BACKEND: 'tensorflow', DAFT_NATIVE: '0' }) })
    expect(forced.backend).toEqual({ name: null, detail: 'DAFT_BACKEND=tensorflow forces a backend that does not load here: the engine will not start (unset DAFT_BACKEND)' })
    const native = forced.items.find((i) => i.id === 'native')!
    expect(native.status).toBe('missing')
    expect(native.reason).toMatch(/^built and loads \(.*daft_native\.node: .*\), but disabled: DAFT_NATIVE=0 \(off\); the engine uses the wasm kernels only$/)
    expect(native.action).toBe('unset DAFT_NATIVE')
  })
})

describe('app.doctor', () => {
  it('is an API operation (both transports) answered by the same checks', async () => {
    expect(API_OPERATIONS).toContain('app.doctor')
    // app.doctor needs no store or engine: the checks look at the machine, not the app's state
    const report = await createServices({} as unknown as ServiceContext)['app.doctor']({})
    expect(report.root).toBe(ROOT)
    expect(report.items.map((i) => i.id)).toEqual(['tfjs-node-gpu', 'cuda', 'gpu', 'tfjs-node', 'wasm', 'cpu', 'native', 'electron', 'electron-sqlite', 'chromium', 'torch'])
  })
})

describe('states this machine is not in (fake project roots)', () => {
  const root = mkdtempSync(join(tmpdir(), 'daft-doctor-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const write = (rel: string, text = ''): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  let r: DoctorReport
  beforeAll(async () => {
    write('package.json', JSON.stringify({ name: 'daft-workbench', optionalDependencies: { '@tensorflow/tfjs-node': '4.22.0', '@tensorflow/tfjs-node-gpu': '4.22.0' } }))
    // tfjs-node-gpu installed with --ignore-scripts: no libtensorflow
    write('node_modules/@tensorflow/tfjs-node-gpu/package.json', JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', main: 'index.js' }))
    // tfjs-node with libtensorflow and a binding that does not load
    write('node_modules/@tensorflow/tfjs-node/package.json', JSON.stringify({ name: '@tensorflow/tfjs-node', main: 'index.js' }))
    write('node_modules/@tensorflow/tfjs-node/index.js', "throw new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory\\n    at more')")
    write('node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow.so.2.9.1')
    write('node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow_framework.so.2')
    write('node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node')
    // the last native build failed
    write('native/build/build.log', '# date: 2026-11-29T16:00:00.000Z\n# command: node node-gyp.js rebuild\n# result: failed (exit 1)\n\ngyp ERR! stack Error: not found: make\ngyp ERR! not ok\n')
    // Electron downloaded
    write('node_modules/electron/package.json', JSON.stringify({ version: '45.5.0' }))
    write('node_modules/electron/path.txt', 'electron')
    write('node_modules/electron/dist/electron')
    r = await runDoctor({ root, env: cleanEnv() })
  })
  const item = (id: string) => r.items.find((i) => i.id === id)!

  it('installed without libtensorflow: rebuild it', () => {
    expect(item('tfjs-node-gpu')).toMatchObject({
      status: 'missing',
      reason: `installed at ${root}/node_modules/@tensorflow/tfjs-node-gpu, but libtensorflow is missing: no libtensorflow*.so* in ${root}/node_modules/@tensorflow/tfjs-node-gpu/deps/lib (its install script did not run, or its download failed)`,
      action: 'npm rebuild --foreground-scripts @tensorflow/tfjs-node-gpu',
    })
  })

  it('installed with libtensorflow and a binding that does not load: failed, with the loader error', () => {
    const dir = `${root}/node_modules/@tensorflow/tfjs-node`
    expect(item('tfjs-node')).toMatchObject({
      status: 'failed',
      reason: `installed (libtensorflow.so.2.9.1, libtensorflow_framework.so.2 in ${dir}/deps/lib, binding ${dir}/lib/napi-v8/tfjs_binding.node) but does not load: libtensorflow.so.2: cannot open shared object file: No such file or directory`,
      action: 'npm rebuild --foreground-scripts @tensorflow/tfjs-node',
    })
    expect(doctorExitCode(r)).toBe(1)
  })

  it('no wasm package here: the engine would fall back to cpu', () => {
    expect(item('wasm').status).toBe('missing')
    expect(item('wasm').reason).toMatch(/^not installed: Cannot find module '@tensorflow\/tfjs'/)
    expect(r.backend).toEqual({ name: 'cpu', detail: 'CPU (JavaScript) (tensorflow does not load, wasm does not load: see below)' })
  })

  it('native kernels: the failed build from its log, and the instruction set it would use', () => {
    const isa = isaFromCpuFlags(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [])
    expect(item('native')).toMatchObject({
      status: 'failed',
      reason: `not built: the last build failed (exit 1) on 2026-11-29T16:00:00.000Z: gyp ERR! stack Error: not found: make (full log: ${root}/native/build/build.log); once built it would use ${isa} on this CPU; DAFT_NATIVE unset (on)`,
      action: 'sudo apt-get install -y g++ make python3 && npm run native:build',
    })
  })

  it('Electron downloaded: only the better-sqlite3 rebuild is left', () => {
    expect(item('electron')).toMatchObject({ status: 'ok', reason: `downloaded: ${root}/node_modules/electron/dist/electron` })
    expect(item('electron-sqlite').action).toBe('npm run rebuild:electron')
  })
})
