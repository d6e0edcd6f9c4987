/** `daft doctor [--json]` as a user runs it, on this machine (no tfjs-node, no GPU, native kernels built, no Electron binary). */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, tfjsNodeDoctorItem } from '../../helpers/paths'

function daft(...args: string[]): { code: number; stdout: string; stderr: string } {
  const env = { ...process.env }
  for (const k of ['LD_LIBRARY_PATH', 'DAFT_BACKEND', 'DAFT_NATIVE', 'DAFT_NATIVE_ISA', 'DAFT_NATIVE_THREADS', 'DAFT_NATIVE_PATH']) delete env[k]
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'daft.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000, env })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

describe('daft doctor', () => {
  it('prints the checklist: backend in use, then every item with its status, reason and fix', () => {
    const r = daft('doctor')
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^daft doctor \(linux x64, Node [\d.]+; \/.+\)$/)
    expect(lines[1]).toMatch(/^tensor backend: wasm: CPU \(wasm SIMD, 1 thread\) \+ native kernels \((avx512|avx2|generic), \d+ threads?\) \(tensorflow does not load: see below\)$/)
    const text = r.stdout
    const gpuPkg = tfjsNodeDoctorItem('@tensorflow/tfjs-node-gpu')
    expect(text).toContain(
      `  [missing]  @tensorflow/tfjs-node-gpu (TensorFlow on an NVIDIA GPU): ${gpuPkg.reason}\n` +
        `             fix: ${gpuPkg.action}\n` +
        '             note: needs network: its install script downloads libtensorflow (or from the mirror in $TFJS_NODE_CDN_STORAGE) and builds the binding\n',
    )
    expect(text).toContain('  [missing]  CUDA 11.2 / cuDNN 8.1 libraries (for tfjs-node-gpu): 8 of 8 missing: libcudart.so.11.0, libcublas.so.11, libcublasLt.so.11, libcufft.so.10, libcurand.so.10, libcusolver.so.11, libcusparse.so.11, libcudnn.so.8 (looked in LD_LIBRARY_PATH (unset), ')
    expect(text).toContain('  [missing]  NVIDIA GPU: none visible: no /dev/nvidia0, no /proc/driver/nvidia/version, nvidia-smi not on PATH\n             fix: sudo apt-get install -y nvidia-driver\n')
    expect(text).toContain(`  [missing]  @tensorflow/tfjs-node (TensorFlow on the CPU): ${tfjsNodeDoctorItem('@tensorflow/tfjs-node').reason}\n`)
    expect(text).toContain(`  [ok]       @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD): loads: SIMD on, 1 thread (${ROOT}/node_modules/@tensorflow/tfjs-backend-wasm/dist)\n`)
    expect(text).toMatch(new RegExp(`  \\[ok\\] {7}native kernels \\(native/build/Release/daft_native\\.node\\): built and loads: ${ROOT.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/native/build/Release/daft_native\\.node: (avx512|avx2|generic) micro-kernels \\(this CPU and build: [a-z0-9, ]+\\), \\d+ threads; DAFT_NATIVE unset \\(on\\)\n`))
    expect(text).toContain(`  [missing]  Electron 45.5.0 binary: not downloaded: no ${ROOT}/node_modules/electron/path.txt, no ${ROOT}/node_modules/electron/dist (`)
    expect(text).toContain('             fix: node node_modules/electron/install.js\n')
    expect(text).toContain(`  [missing]  better-sqlite3 built for Electron (.electron-native/): not built: no ${ROOT}/.electron-native/better-sqlite3/build/Release/better_sqlite3.node (`)
    expect(text).toContain('  [ok]       Chromium for the end-to-end tests: found: /usr/bin/chromium\n')
    expect(lines[lines.length - 1]).toMatch(new RegExp(`^5 ok, 6 to fix, 0 optional missing; run the commands in ${ROOT.replace(/[/.]/g, '\\$&')} \\(checked in [\\d.]+ s\\)$`))
  })

  it('--json: the same report as one JSON object', () => {
    const r = daft('doctor', '--json')
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout.trim())
    expect(report.root).toBe(ROOT)
    expect(report.backend.name).toBe('wasm')
    expect(report.items.map((i: { id: string; status: string }) => `${i.id}:${i.status}`)).toEqual([
      'tfjs-node-gpu:missing',
      'cuda:missing',
      'gpu:missing',
      'tfjs-node:missing',
      'wasm:ok',
      'cpu:ok',
      'native:ok',
      'electron:missing',
      'electron-sqlite:missing',
      'chromium:ok',
      'torch:ok',
    ])
  })

  it('is listed in daft --help and refuses unknown options with its usage', () => {
    expect(daft('--help').stdout).toMatch(/\n {2}daft doctor \[--json\] +set-up checklist: tensor backends/)
    const bad = daft('doctor', '--verbose')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/Unknown option '--verbose'[\s\S]*usage: daft doctor \[--json\]/)
  })
})
