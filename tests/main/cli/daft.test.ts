/** The `daft` command end to end, as a user runs it (`npx daft ...` runs bin/daft.mjs). */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CIFAR_RESNET, DIGITS, ROOT, SHARED_DATA } from '../../helpers/paths'

const tmp = mkdtempSync(join(tmpdir(), 'daft-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const RESNET20 = join(CIFAR_RESNET, 'resnet20-12fca82f.th')
const CIFAR_CLASSES = 'airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck'

function daft(...args: string[]): { code: number; stdout: string; stderr: string; json: any } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'daft.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000, env: { ...process.env, DAFT_DATA_DIR: join(tmp, 'store') } })
  let json: any
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
  } catch {
    json = undefined
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json }
}

describe('daft engine commands', () => {
  it('inspect: architecture, parameters, BN layers, key report', () => {
    const r = daft('inspect', '--model', RESNET20, '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.arch).toBe('resnet20')
    expect(r.json.bnLayers).toHaveLength(19)
    expect(r.json.bnLayers[0]).toEqual({ name: 'bn1', stage: 'stem', channels: 16, momentum: 0.1, eps: 1e-5 })
    // PyTorch state dicts store no BN momentum: PyTorch's default, said so
    expect(r.json.bnMomentum).toMatchObject({ values: [0.1], stored: false })
    expect(r.stdout).not.toBe('')
    // sum of numel over the checkpoint's parameters (running stats excluded), as torch counts it
    expect(r.json.parameters).toBe(269722)
    expect(r.json.keyReport.missing).toEqual([])
    expect(r.json.keyReport.unexpected).toEqual([])
  })

  it("inspect: a Keras-exported TF.js model reports its own BN momentum in PyTorch's convention and what fine-tuning uses", () => {
    const r = daft('inspect', '--model', join(SHARED_DATA, 'models', 'mobilenetv2-tm', 'model.json'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/BN momentum: the checkpoint's BN momentum is 0.001 in PyTorch's convention \(0.999 in Keras'\); fine-tuning uses the recipe's bnMomentum \(default 0.1/)
    expect(r.stdout).toMatch(/expanded_conv_project_BN +stage 1 +8 +0.001 +0.001/)
  })

  it('evaluate: resnet20 classifies the 20 lossless CIFAR PNGs 20/20 (head order by --classes)', () => {
    const r = daft('evaluate', '--model', RESNET20, '--data', join(SHARED_DATA, 'cifar10-png-samples'), '--classes', CIFAR_CLASSES, '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.images).toBe(20)
    expect(r.json.accuracy).toBe(1)
    const without = daft('evaluate', '--model', RESNET20, '--data', join(SHARED_DATA, 'cifar10-png-samples'), '--json')
    expect(without.code).toBe(1)
    expect(without.json.error).toMatch(/10 outputs but .* gives 8 classes/)
  })

  it('convert-bn: writes a converted model whose eval outputs are unchanged, with per-layer shift figures', () => {
    const out = join(tmp, 'converted.safetensors')
    const r = daft('convert-bn', '--model', RESNET20, '--data', join(DIGITS, 'mnist_m', 'train'), '--limit', '200', '--out', out, '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(out)).toBe(true)
    expect(r.json.layers).toHaveLength(19)
    expect(r.json.images).toBe(200)
    expect(r.json.maxRelativeOutputChange).toBeLessThan(1e-4)
    expect(r.json.layers.every((l: { meanShift: number }) => l.meanShift > 0)).toBe(true)
    const back = daft('inspect', '--model', out, '--json')
    expect(back.code, back.stderr).toBe(0)
    expect(back.json.format).toBe('safetensors')
    expect(back.json.arch).toBe('resnet20')
  })

  it('refuses a .pth whose pickle calls os.system, naming the file, without running it', () => {
    const marker = join(tmp, 'pwned')
    const cmd = `touch ${marker}`
    // protocol 2: GLOBAL 'posix system', the command string, TUPLE1, REDUCE, STOP
    const pickle = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cposix\nsystem\n', 'latin1'), Buffer.from([0x58]), Buffer.from(Uint32Array.of(cmd.length).buffer), Buffer.from(cmd, 'latin1'), Buffer.from([0x85, 0x52, 0x2e])])
    const evil = join(tmp, 'evil.pth')
    writeFileSync(evil, pickle)
    const r = daft('inspect', '--model', evil, '--json')
    expect(r.code).toBe(1)
    expect(r.json.error).toContain(evil)
    expect(r.json.error).toMatch(/posix\.system/)
    expect(existsSync(marker)).toBe(false)
  })
})

describe('daft store commands', () => {
  it('runs an experiment file end to end, lists runs, compares (CSV), analyses, and rejects bad input', () => {
    const file = join(tmp, 'exp.yaml')
    writeFileSync(
      file,
      [
        'name: cli-demo',
        'model: demo:model',
        'arch: resnet8',
        'data:',
        '  id: { root: demo:color, limits: { train: 150, test: 50 } }',
        '  ood: { stroke: { root: demo:stroke, limit: 50 } }',
        'epochs: 1',
        'batchSize: 32',
        'methods:',
        '  LP: {}',
        '  DAFT: { lr: { backbone: 0.01, head: 0.1 } }',
        'seeds: [0, 1]',
      ].join('\n'),
    )
    const r = daft('run', file, '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.runs).toHaveLength(4)
    expect(r.json.runs.every((x: { status: string }) => x.status === 'succeeded')).toBe(true)
    const table = r.json.comparison
    expect(table.rows.map((x: { method: string; runs: number }) => [x.method, x.runs])).toEqual([
      ['LP', 2],
      ['DAFT', 2],
    ])
    expect(table.sets).toEqual(['id-val', 'id-test', 'stroke'])

    const text = daft('compare', 'cli-demo')
    expect(text.stdout).toMatch(/mean ± std over seeds/)
    const csv = daft('compare', String(r.json.experimentId), '--csv')
    const lines = csv.stdout.trim().split('\n')
    expect(lines[0]).toBe('method,n,seeds,lr_backbone,lr_head,id-val_mean,id-val_std,id-test_mean,id-test_std,stroke_mean,stroke_std')
    // two seeds per method: n = 2 and a std in every set (the same file as Compare's Export CSV)
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3))).toEqual([
      ['LP', '2', '0 1'],
      ['DAFT', '2', '0 1'],
    ])
    for (const l of lines.slice(1)) expect(l.split(',').slice(5).every((v) => v !== '' && Number.isFinite(Number(v)))).toBe(true)

    const runs = daft('runs', '--json')
    expect(runs.json.runs).toHaveLength(4)
    const analysis = daft('analyze', String(r.json.runs[3].id), '--k', '2', '--json')
    expect(analysis.code, analysis.stderr).toBe(0)
    expect(analysis.json.analysis.sets.map((s: { set: string }) => s.set)).toEqual(['id-test', 'stroke'])
    expect(analysis.json.galleries[0].perClass[0].lowest).toHaveLength(2)

    // export: safetensors with PyTorch keys (re-inspectable), and a TF.js layers model
    const st = join(tmp, 'daft-run.safetensors')
    expect(daft('export', String(r.json.runs[3].id), '--out', st, '--json').code).toBe(0)
    const again = daft('inspect', '--model', st, '--arch', 'resnet8', '--json')
    expect(again.json.numClasses).toBe(5)
    const tfjsDir = join(tmp, 'daft-run-tfjs')
    const ex = daft('export', String(r.json.runs[3].id), '--format', 'tfjs', '--out', tfjsDir, '--json')
    expect(ex.code, ex.stderr).toBe(0)
    expect(existsSync(join(tfjsDir, 'model.json'))).toBe(true)
    expect(existsSync(join(tfjsDir, 'weights.bin'))).toBe(true)

    expect(daft('cancel', '999', '--json').json.error).toMatch(/run 999 does not exist/)
    expect(daft('resume', String(r.json.runs[0].id), '--json').json.error).toMatch(/only interrupted runs resume/)
    writeFileSync(join(tmp, 'bad.yaml'), 'name: x\nmethods: [XX]\n')
    const bad = daft('run', join(tmp, 'bad.yaml'), '--json')
    expect(bad.code).toBe(1)
    expect(bad.json.error).toMatch(/bad\.yaml/)
    expect(bad.json.error).toMatch(/model: required/)
    expect(bad.json.error).toMatch(/unknown method 'XX'/)
  })
})
