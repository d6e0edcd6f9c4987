/**
 * The command line as a second door over the same services (issue 14, item 2): `daft datasets import` prints the
 * import report with every skipped entry and its reason, `daft datasets` / `daft models` list the catalog the app
 * shows, `daft models import` registers a checkpoint, `daft evaluate` and `daft shift` name the entries their folder
 * walk left out (a zero-byte file, a symbolic link loop, an empty class folder, called empty, not absent), every
 * command answers --help and -h with its own usage, and errors are one line (a JSON object with --json).
 * Real folders in a temp dir with real MNIST-M images copied from the shared digits set.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMANDS } from '../../../src/main/cli/commands'
import { openStore } from '../../../src/main/store/db'
import { datasetRoots } from '../../../src/main/store/catalog'
import { CIFAR_RESNET, DIGITS, ROOT } from '../../helpers/paths'

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'daft-cli-catalog-')))
const store = path.join(tmp, 'store')
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
const RESNET20 = path.join(CIFAR_RESNET, 'resnet20-12fca82f.th')
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

function daft(...args: string[]): { code: number; stdout: string; stderr: string; json: any } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'daft.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, DAFT_DATA_DIR: store } })
  let json: any
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
  } catch {
    json = undefined
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json }
}

// digits/<0..9>: 3 real MNIST-M images each, except 7 (empty); 0 also holds a zero-byte .png, 1 a symbolic link loop
const digits = path.join(tmp, 'digits')
const zero = path.join(digits, '0', 'zero.png')
const loop = path.join(digits, '1', 'loop.png')
const empty = path.join(digits, '7')
beforeAll(() => {
  for (const c of CLASSES) {
    fs.mkdirSync(path.join(digits, c), { recursive: true })
    if (c === '7') continue
    const src = path.join(DIGITS, 'mnist_m', 'train', c)
    for (const f of fs.readdirSync(src).sort().slice(0, 3)) fs.copyFileSync(path.join(src, f), path.join(digits, c, f))
  }
  fs.writeFileSync(zero, '')
  fs.symlinkSync('loop.png', loop)
})

/** The three entries every command must name, as they appear in the text output. */
function expectSkippedNamed(text: string): void {
  expect(text).toMatch(/skipped 3 entries:/)
  expect(text).toMatch(new RegExp(`corrupt +\\S+: ${zero}: zero-byte file`))
  expect(text).toMatch(new RegExp(`symlink-loop +\\S+: ${loop}: symbolic link loop`))
  expect(text).toMatch(new RegExp(`empty-class +\\S+: ${empty}: class folder '7' holds no usable image`))
}

describe('daft datasets', () => {
  it('import prints the import report with every skipped entry and its reason; again, it reuses the entry', () => {
    const r = daft('datasets', 'import', digits, '--name', 'digits-bad', '--val-fraction', '0.2')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^dataset 'digits-bad' \(#\d+\) in project 'Demo: shapes under domain shift': added/)
    expect(r.stdout).toContain(`root ${digits} (one folder per class)`)
    expect(r.stdout).toMatch(/9 classes: 0, 1, 2, 3, 4, 5, 6, 8, 9/)
    expect(r.stdout).toMatch(/images: train 18, val 9 \(val: 20 % of train held out, seed 0\)/)
    expectSkippedNamed(r.stdout)
    expect(r.stdout).toMatch(/fingerprint [0-9a-f]{64}/)

    const again = daft('datasets', 'import', digits, '--json')
    expect(again.code, again.stderr).toBe(0)
    expect(again.json.status).toBe('reused')
    expect(again.json.dataset.name).toBe('digits-bad')
    expect(again.json.dataset.report.skipped.map((s: { path: string; reason: string }) => [s.reason, s.path])).toEqual([
      ['corrupt', zero],
      ['symlink-loop', loop],
      ['empty-class', empty],
    ])

    // the same content elsewhere: one entry, and the copy's images are served too
    const copy = path.join(tmp, 'digits-copy')
    fs.cpSync(digits, copy, { recursive: true, verbatimSymlinks: true })
    const fromCopy = daft('datasets', 'import', copy, '--json')
    expect(fromCopy.json).toMatchObject({ status: 'reused', dataset: { id: again.json.dataset.id } })
    const db = openStore(store)
    try {
      expect(datasetRoots(db)).toEqual(expect.arrayContaining([digits, copy]))
    } finally {
      db.close()
    }

    const list = daft('datasets')
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/^project 'Demo: shapes under domain shift' \(#\d+\): 1 dataset\n/)
    expect(list.stdout).toMatch(new RegExp(`digits-bad +9 classes +train 18, val 9 +3 skipped  ${digits}`))
    const listed = daft('datasets', 'list', '--json')
    expect(listed.json.datasets.map((d: { name: string }) => d.name)).toEqual(['digits-bad'])
    expect(listed.json.project.name).toBe('Demo: shapes under domain shift')
  })

  it('refuses what it cannot import, in one line (a JSON object with --json)', () => {
    const other = path.join(tmp, 'other')
    fs.cpSync(path.join(digits, '0'), path.join(other, 'a'), { recursive: true })
    const clash = daft('datasets', 'import', other, '--name', 'digits-bad')
    expect(clash.code).toBe(1)
    expect(clash.stdout).toBe('')
    expect(clash.stderr.trim().split('\n')).toHaveLength(1)
    expect(clash.stderr.trim()).toMatch(new RegExp(`^daft datasets: a dataset named 'digits-bad' is already registered \\(#\\d+, ${digits}\\); choose another name$`))
    const missing = daft('datasets', 'import', path.join(tmp, 'nope'), '--json')
    expect(missing.code).toBe(1)
    expect(missing.json).toEqual({ error: `${path.join(tmp, 'nope')}: no such folder` })
    const frac = daft('datasets', 'import', other, '--val-fraction', '1')
    expect(frac.code).toBe(1)
    expect(frac.stderr.trim()).toBe('daft datasets: --val-fraction must be a number from 0 up to, not including, 1 (got 1)')
    const noDir = daft('datasets', 'import')
    expect(noDir.code).toBe(1)
    expect(noDir.stderr.trim().split('\n')).toHaveLength(1)
    expect(noDir.stderr).toMatch(/^daft datasets: the dataset folder is required; usage: daft datasets import DIR/)
    expect(daft('datasets', 'frobnicate').stderr).toMatch(/^daft datasets: unknown sub-command 'frobnicate' \(list or import\)/)
    expect(daft('datasets', '--name', 'x').stderr).toMatch(/^daft datasets: --name: only for import/)
  })
})

describe('daft models', () => {
  it('import reads the checkpoint and registers it once; models lists it', () => {
    const r = daft('models', 'import', RESNET20)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^model 'resnet20-12fca82f\.th' \(#\d+\) in project 'Demo: shapes under domain shift': added/)
    expect(r.stdout).toMatch(/architecture resnet20, 10 classes, 269,722 parameters, 19 BN layers, input 32x32/)
    expect(r.stdout).toMatch(/fingerprint 12fca82f[0-9a-f]{56}/)
    const again = daft('models', 'import', RESNET20, '--name', 'ignored', '--json')
    expect(again.json).toMatchObject({ status: 'reused', model: { name: 'resnet20-12fca82f.th', arch: 'resnet20' } })
    const named = daft('models', 'import', path.join(CIFAR_RESNET, 'resnet32-d509ac18.th'), '--name', 'r32', '--arch', 'resnet32', '--json')
    expect(named.json).toMatchObject({ status: 'added', model: { name: 'r32', arch: 'resnet32', numClasses: 10 } })
    const list = daft('models', '--json')
    expect(list.json.models.map((m: { name: string; arch: string }) => `${m.name} ${m.arch}`)).toEqual(['resnet20-12fca82f.th resnet20', 'r32 resnet32'])
    expect(daft('models').stdout).toMatch(/r32 +resnet32 +10 classes +464,154 parameters +31 BN/)
    const bad = daft('models', 'import', zero)
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/^daft models: .*zero\.png.*empty file/)
  })
})

describe('daft evaluate and daft shift name the skipped entries', () => {
  it('evaluate: the zero-byte file, the link loop and the empty class folder, which counts as a class (empty, not absent)', () => {
    const r = daft('evaluate', '--model', RESNET20, '--data', digits)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/accuracy \d+\.\d\d% on 27 images \(resnet20/)
    expect(r.stdout).toMatch(/\n {2}7 +- +\(0: empty class folder\)/)
    expectSkippedNamed(r.stdout)
    expect(r.stdout).toMatch(/note: test: empty class folders \(no usable image; see the skipped entries\): 7/)
    expect(r.stdout).not.toMatch(/absent/)
    const j = daft('evaluate', '--model', RESNET20, '--data', digits, '--classes', CLASSES.join(','), '--json')
    expect(j.code, j.stderr).toBe(0)
    expect(j.json.skipped.map((s: { reason: string }) => s.reason)).toEqual(['corrupt', 'symlink-loop', 'empty-class'])
    expect(j.json.perClass.find((c: { className: string }) => c.className === '7')).toEqual({ className: '7', images: 0, accuracy: null })
    expect(j.json.notes.join('\n')).not.toMatch(/absent/)
  })

  it('shift: the same entries below the per-layer shift', () => {
    const r = daft('shift', '--model', RESNET20, '--data', digits, '--limit', '20')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/overall score \d/)
    expectSkippedNamed(r.stdout)
    const j = daft('shift', '--model', RESNET20, '--data', digits, '--limit', '20', '--json')
    expect(j.json.skipped.map((s: { path: string }) => s.path)).toEqual([zero, loop, empty])
  })
})

describe('help and errors', () => {
  it('every command answers --help and -h with its own usage and options, exit 0', () => {
    const names = Object.keys(COMMANDS)
    expect(names).toEqual(expect.arrayContaining(['datasets', 'models', 'shift', 'evaluate', 'run']))
    for (const name of names) {
      for (const flag of ['--help', '-h']) {
        const r = daft(name, flag)
        expect(r.code, `${name} ${flag}: ${r.stderr}`).toBe(0)
        expect(r.stderr, `${name} ${flag}`).toBe('')
        expect(r.stdout, `${name} ${flag}`).toMatch(new RegExp(`^usage: daft ${name.replace('-', '\\-')}( |$)`, 'm'))
        expect(r.stdout, `${name} ${flag}`).toMatch(/\noptions:\n(.+\n)*? {2}-h, --help +print this help and exit\n/)
      }
    }
    // options given with --help are not parsed (the help is the answer), and `daft help CMD` says the same
    expect(daft('shift', '--model', 'x', '--help').stdout).toBe(daft('help', 'shift').stdout)
    expect(daft('shift', '--help').stdout).toMatch(/--limit N +at most N images/)
    expect(daft('datasets', 'import', '--help').stdout).toMatch(/usage: daft datasets \[list\][\s\S]*daft datasets import DIR \[--name N\] \[--val-fraction F\]/)
  })

  it('lists the new commands, and says an unknown command or option in one line', () => {
    const top = daft('--help')
    expect(top.stdout).toMatch(/\n {2}daft datasets \[import DIR \[--name N\] \[--val-fraction F\]\] +list the catalog's datasets/)
    expect(top.stdout).toMatch(/\n {2}daft models \[import PATH \[--name N\] \[--arch A\]\] +list the catalog's models/)
    const unknown = daft('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.trim().split('\n')).toEqual(["daft: unknown command 'frobnicate' (daft --help lists the commands)"])
    expect(daft('frobnicate', '--json').json).toEqual({ error: "unknown command 'frobnicate' (daft --help lists the commands)" })
    const opt = daft('shift', '--verbose')
    expect(opt.code).toBe(1)
    expect(opt.stderr.trim().split('\n')).toHaveLength(1)
    expect(opt.stderr).toMatch(/^daft shift: Unknown option '--verbose'.*; usage: daft shift --model PATH .*\(more: daft shift --help\)$/m)
    const j = daft('evaluate', '--data', digits, '--json')
    expect(j.code).toBe(1)
    expect(j.json.error).toMatch(/^--model is required; usage: daft evaluate/)
  })
})
