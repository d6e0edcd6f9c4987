/**
 * Checkpoints on disk: private files, the previous checkpoint kept beside the newest, verification against
 * the sha256 the store recorded, fall-back to the previous checkpoint, leftovers of killed writes removed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  checkpointDir,
  chooseCheckpoint,
  cleanCheckpointLeftovers,
  loadCheckpointState,
  previousCheckpointDir,
  saveCheckpoint,
  verifyCheckpoint,
  type SavedCheckpoint,
} from '../../../../src/main/engine/tasks/checkpoint'
import type { TrainState } from '../../../../src/main/engine/train/loop'

const dirs: string[] = []
function runDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'daft-ckpt-'))
  dirs.push(d)
  return join(d, 'run')
}
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})

function state(epochsDone: number): TrainState {
  const w = new Float32Array(64).map((_, i) => i * 0.5 + epochsDone)
  return {
    epochsDone,
    weights: new Map([['conv.weight', { shape: [4, 4, 2, 2], dtype: 'float32', data: w }]]),
    optimizer: { momentum: 0.9, steps: epochsDone * 10, groups: [{ name: 'backbone', lr: 0.01, weightDecay: 0 }], buffers: { 'conv.weight': { shape: [4, 4, 2, 2], data: w.map((x) => -x) } } },
    rng: [1, 2, 3, epochsDone],
    history: [],
    best: null,
  }
}

function flipByte(file: string, at: number): void {
  const buf = readFileSync(file)
  buf[at] ^= 0xff
  writeFileSync(file, buf)
}

const mode = (p: string): number => statSync(p).mode & 0o777

function saveTwo(dir: string): [SavedCheckpoint, SavedCheckpoint] {
  mkdirSync(dir, { recursive: true })
  return [saveCheckpoint(dir, state(1)), saveCheckpoint(dir, state(2))]
}

describe('epoch checkpoints', () => {
  it('are private, keep the previous checkpoint beside the newest, and round-trip', () => {
    const dir = runDir()
    const [a, b] = saveTwo(dir)
    expect(a.sha256).not.toBe(b.sha256)
    expect(mode(checkpointDir(dir))).toBe(0o700)
    expect(mode(join(checkpointDir(dir), 'weights.safetensors'))).toBe(0o600)
    expect(mode(join(checkpointDir(dir), 'state.json'))).toBe(0o600)
    expect(loadCheckpointState(dir)!.epochsDone).toBe(2)
    expect(loadCheckpointState(dir, previousCheckpointDir(dir))!.epochsDone).toBe(1)
    expect(Array.from(loadCheckpointState(dir)!.optimizer.buffers['conv.weight'].data.slice(0, 3))).toEqual([-2, -2.5, -3])
    // a third save rotates: the previous one is now epoch 2, nothing else is left behind
    saveCheckpoint(dir, state(3))
    expect(loadCheckpointState(dir, previousCheckpointDir(dir))!.epochsDone).toBe(2)
    expect(existsSync(join(dir, `checkpoint.old-${process.pid}`))).toBe(false)
  })

  it('resume uses the newest checkpoint when it matches a recorded sha256', async () => {
    const dir = runDir()
    const [a, b] = saveTwo(dir)
    const c = await chooseCheckpoint(dir, new Set([a.sha256, b.sha256]))
    expect(c).toMatchObject({ use: 'newest', epochsDone: 2, sha256: b.sha256, problems: [] })
  })

  it('falls back to the previous checkpoint when the newest is corrupt (flipped bytes), and puts it in place', async () => {
    const dir = runDir()
    const [a, b] = saveTwo(dir)
    const file = join(checkpointDir(dir), 'weights.safetensors')
    flipByte(file, statSync(file).size - 20)
    expect(await verifyCheckpoint(checkpointDir(dir), new Set([a.sha256, b.sha256]))).toMatchObject({ ok: false, problem: expect.stringMatching(/corrupt .*sha256 recorded/) })
    const c = await chooseCheckpoint(dir, new Set([a.sha256, b.sha256]))
    expect(c.use).toBe('previous')
    expect(c.epochsDone).toBe(1)
    expect(c.sha256).toBe(a.sha256)
    expect(c.problems[0]).toMatch(/the newest checkpoint is corrupt/)
    // the engine finds it under checkpoint/; the bad one is gone
    expect(existsSync(previousCheckpointDir(dir))).toBe(false)
    expect(loadCheckpointState(dir)!.epochsDone).toBe(1)
  })

  it('falls back when the newest is missing, and when its state.json does not match its weights', async () => {
    const dir = runDir()
    const [a, b] = saveTwo(dir)
    rmSync(checkpointDir(dir), { recursive: true })
    expect(await chooseCheckpoint(dir, new Set([a.sha256, b.sha256]))).toMatchObject({ use: 'previous', epochsDone: 1, problems: ['the newest checkpoint is missing'] })

    const dir2 = runDir()
    const [a2, b2] = saveTwo(dir2)
    const stateFile = join(checkpointDir(dir2), 'state.json')
    writeFileSync(stateFile, readFileSync(stateFile, 'utf8').replace('"epochsDone":2', '"epochsDone":5'))
    const c = await chooseCheckpoint(dir2, new Set([a2.sha256, b2.sha256]))
    expect(c.use).toBe('previous')
    expect(c.problems[0]).toMatch(/state\.json does not match the sha256 in its weights/)
    // and the engine refuses such a pair outright
    const dir3 = runDir()
    saveTwo(dir3)
    const s3 = join(checkpointDir(dir3), 'state.json')
    writeFileSync(s3, readFileSync(s3, 'utf8').replace('"epochsDone":2', '"epochsDone":5'))
    expect(() => loadCheckpointState(dir3)).toThrow(/does not match the checkpoint's weights/)
  })

  it('trusts no checkpoint the store never recorded; with neither usable the run starts over', async () => {
    const dir = runDir()
    const [a] = saveTwo(dir)
    // the newest was written but its epoch never reached the store (killed in between): the previous one is used
    expect(await chooseCheckpoint(dir, new Set([a.sha256]))).toMatchObject({ use: 'previous', epochsDone: 1 })
    const dir2 = runDir()
    saveTwo(dir2)
    const c = await chooseCheckpoint(dir2, new Set(['0'.repeat(64)]))
    expect(c.use).toBe(null)
    expect(c.problems).toHaveLength(2)
    expect(existsSync(checkpointDir(dir2))).toBe(false)
    expect(existsSync(previousCheckpointDir(dir2))).toBe(false)
  })

  it('removes the leftovers of killed writes when a run folder is opened', async () => {
    const dir = runDir()
    const [a, b] = saveTwo(dir)
    mkdirSync(join(dir, 'checkpoint.tmp-424242'))
    writeFileSync(join(dir, 'checkpoint.tmp-424242', 'weights.safetensors'), 'half')
    mkdirSync(join(dir, 'checkpoint.old-424242'))
    writeFileSync(join(dir, 'final.safetensors'), 'kept')
    const c = await chooseCheckpoint(dir, new Set([a.sha256, b.sha256]))
    expect(c.cleaned.sort()).toEqual(['checkpoint.old-424242', 'checkpoint.tmp-424242'])
    expect(existsSync(join(dir, 'final.safetensors'))).toBe(true)
    expect(cleanCheckpointLeftovers(dir)).toEqual([])
  })
})
