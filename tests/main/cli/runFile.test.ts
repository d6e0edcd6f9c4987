/** `daft run` with an experiment file its schema refuses: the message names the file and each field, before any work. */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/paths'

const tmp = mkdtempSync(join(tmpdir(), 'daft-runfile-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function daft(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'daft.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DAFT_DATA_DIR: join(tmp, 'store') } })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

describe('daft run: a bad experiment file', () => {
  it('names the file and the path of every wrong field, one line each, and opens no store', () => {
    const file = join(tmp, 'x.yaml')
    writeFileSync(file, ['model: m.th', 'data:', '  id: d', '  normalize: imagenet2', 'methods:', '  - LP', '  - { method: FT, lr: -1 }', '  - { method: DAFT, epoch: 3 }', ''].join('\n'))
    const shown = relative(ROOT, file)
    const r = daft('run', shown)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${shown}: data.normalize: must be one of imagenet, minus1to1, clip, unit (got 'imagenet2')`)
    expect(r.stderr).toContain(`${shown}: methods[1].lr: must be a number in [0, 100] (got -1)`)
    expect(r.stderr).toContain(`${shown}: methods[2].epoch: unknown field`)
    expect(existsSync(join(tmp, 'store'))).toBe(false)
  })

  it('names the entry of a method mapping after the shapes are right (rules between fields)', () => {
    const file = join(tmp, 'y.json')
    writeFileSync(file, JSON.stringify({ model: 'm.th', data: { id: 'd' }, methods: { LP: {}, 'LP-FT': { lr: { backbone: 0.001, head: 0.01 } } } }))
    const r = daft('run', file, '--json')
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!).error).toBe(
      `${file}: methods.LP-FT.lr: LP-FT uses one learning rate, lr.backbone = lr.head (got 0.001 and 0.01); set method to 'custom' for this combination`,
    )
  })
})
