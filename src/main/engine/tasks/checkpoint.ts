/**
 * Resumable run state on disk: `<runDir>/checkpoint/` holds weights.safetensors (current weights, the
 * best epoch's weights under `best.`, momentum buffers under `momentum.`) and state.json (epoch, RNG,
 * optimiser scalars, history). Written to a temporary folder and renamed, so a kill mid-write leaves
 * the previous checkpoint intact.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeSafetensors, readSafetensors } from '../io'
import type { StateDict } from '../io/types'
import type { TrainState } from '../train/loop'

const BEST = 'best.'
const MOMENTUM = 'momentum.'

export interface SavedCheckpoint {
  epoch: number
  path: string
  sha256: string
  bytes: number
}

export function checkpointDir(runDir: string): string {
  return join(runDir, 'checkpoint')
}

export function saveCheckpoint(runDir: string, state: TrainState): SavedCheckpoint {
  const tensors: StateDict = new Map()
  for (const [k, t] of state.weights) tensors.set(k, t)
  if (state.best) for (const [k, t] of state.best.weights) tensors.set(BEST + k, t)
  for (const [k, b] of Object.entries(state.optimizer.buffers)) tensors.set(MOMENTUM + k, { shape: b.shape, dtype: 'float32', data: b.data })
  const json = {
    version: 1,
    epochsDone: state.epochsDone,
    rng: state.rng,
    history: state.history,
    best: state.best ? { epoch: state.best.epoch, idValAccuracy: state.best.idValAccuracy } : null,
    optimizer: { momentum: state.optimizer.momentum, steps: state.optimizer.steps, groups: state.optimizer.groups },
  }
  const buf = encodeSafetensors(tensors, { format: 'daft-checkpoint' })
  const final = checkpointDir(runDir)
  const tmp = `${final}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  writeFileSync(join(tmp, 'weights.safetensors'), buf)
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(json))
  const old = `${final}.old-${process.pid}`
  if (existsSync(final)) renameSync(final, old)
  renameSync(tmp, final)
  rmSync(old, { recursive: true, force: true })
  const path = join(final, 'weights.safetensors')
  return { epoch: state.epochsDone, path, sha256: createHash('sha256').update(buf).digest('hex'), bytes: statSync(path).size }
}

export function loadCheckpointState(runDir: string): TrainState | null {
  const dir = checkpointDir(runDir)
  if (!existsSync(join(dir, 'state.json'))) return null
  const json = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))
  const { stateDict } = readSafetensors(join(dir, 'weights.safetensors'))
  const weights: StateDict = new Map()
  const best: StateDict = new Map()
  const buffers: TrainState['optimizer']['buffers'] = {}
  for (const [k, t] of stateDict) {
    if (k.startsWith(BEST)) best.set(k.slice(BEST.length), t)
    else if (k.startsWith(MOMENTUM)) buffers[k.slice(MOMENTUM.length)] = { shape: t.shape, data: t.data as Float32Array }
    else weights.set(k, t)
  }
  return {
    epochsDone: json.epochsDone,
    weights,
    optimizer: { ...json.optimizer, buffers },
    rng: json.rng,
    history: json.history,
    best: json.best ? { ...json.best, weights: best } : null,
  }
}
