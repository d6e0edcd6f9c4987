/**
 * Key mapping: from whatever torch.save wrote (a bare state dict, or { state_dict | model | net: ..., epoch,
 * best_prec1, ... }) to a StateDict in plain PyTorch module names, recording every action in notes.
 *  - unwraps `state_dict` / `model_state_dict` / `model` / `net` / `network` wrappers (nested too)
 *  - strips `_orig_mod.` (torch.compile), `module.` (DataParallel) and `encoder_q.` (MoCo) prefixes
 *  - drops MoCo/SimCLR/SwAV training-only parts: `encoder_k.*`, `queue*`, MLP projection heads
 *    `fc.0.*` / `fc.2.*`, `projection_head.*`, `prototypes.*`
 *  - keeps BatchNorm `num_batches_tracked` counters out of the parameter set
 */
import { isHostTensor } from './torchCommon'
import { CheckpointError, type HostTensor, type StateDict } from './types'

export interface NormalizedStateDict {
  stateDict: StateDict
  meta: Record<string, unknown>
  notes: string[]
}

const WRAPPERS = ['state_dict', 'model_state_dict', 'model', 'net', 'network']

const isTensorDict = (v: unknown): v is Map<unknown, unknown> => {
  if (!(v instanceof Map)) return false
  for (const x of v.values()) if (isHostTensor(x)) return true
  return false
}

/** A JSON-friendly copy of a plain Python value, or undefined if it is not plain (tensor dicts, objects). */
function toPlain(v: unknown, depth = 0): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()
  if (isHostTensor(v)) return v.data.length === 1 ? Number(v.data[0]) : undefined
  if (depth > 4) return undefined
  if (Array.isArray(v)) {
    const out = v.map((x) => toPlain(x, depth + 1))
    return out.some((x) => x === undefined) || out.length > 1000 ? undefined : out
  }
  if (v instanceof Map) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of v) {
      const p = toPlain(x, depth + 1)
      if (p === undefined || typeof k !== 'string') return undefined
      out[k] = p
    }
    return out
  }
  return undefined
}

/** Turn an unpickled checkpoint (tensors already HostTensors) into a normalised StateDict + meta + notes. */
export function normalizeStateDict(raw: unknown, file = '(state dict)'): NormalizedStateDict {
  const notes: string[] = []
  const meta: Record<string, unknown> = {}
  let cur: unknown = raw
  let path = ''
  // a wrapper key holding a dict always wins: a real state dict never maps a bare 'model' to a dict
  for (let depth = 0; depth < 4; depth++) {
    if (!(cur instanceof Map)) break
    const key = WRAPPERS.find((k) => cur instanceof Map && cur.get(k) instanceof Map)
    if (!key) break
    for (const [k, v] of cur) {
      if (k === key) continue
      const p = toPlain(v)
      if (p !== undefined) meta[String(k)] = p
      else notes.push(`ignored non-plain entry '${path}${String(k)}' beside the state dict`)
    }
    notes.push(`unwrapped '${path}${key}'`)
    path += `${key}.`
    cur = cur.get(key)
  }
  if (!isTensorDict(cur)) throw new CheckpointError(file, 'no state dict found: the checkpoint holds no name -> tensor mapping (looked inside state_dict/model/net)')

  let entries: [string, HostTensor][] = []
  for (const [k, v] of cur) {
    if (isHostTensor(v)) entries.push([String(k), v])
    else notes.push(`ignored non-tensor entry '${String(k)}' in the state dict`)
  }

  const strip = (prefix: string, why: string): void => {
    const n = entries.filter(([k]) => k.startsWith(prefix)).length
    if (n === 0) return
    entries = entries.map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v])
    notes.push(`stripped '${prefix}' prefix (${why}) from ${n} key(s)`)
  }
  const drop = (test: (k: string) => boolean, what: string): void => {
    const dropped = entries.filter(([k]) => test(k))
    if (dropped.length === 0) return
    entries = entries.filter(([k]) => !test(k))
    notes.push(`dropped ${dropped.length} key(s) of ${what}: ${summarize(dropped.map(([k]) => k))}`)
  }

  strip('_orig_mod.', 'torch.compile wrapper')
  strip('module.', 'DataParallel wrapper')
  if (entries.some(([k]) => k.startsWith('encoder_q.'))) {
    drop((k) => k.startsWith('encoder_k.'), 'the MoCo momentum encoder')
    drop((k) => k.startsWith('queue'), 'the MoCo negatives queue')
    strip('encoder_q.', 'MoCo query encoder')
  } else {
    drop((k) => k.startsWith('encoder_k.'), 'a momentum encoder')
    drop((k) => /^queue(\.|_|$)/.test(k), 'a negatives queue')
  }
  drop((k) => /^fc\.[02]\./.test(k), 'an MLP projection head (fc.0/fc.2)')
  drop((k) => k.startsWith('projection_head.'), 'a projection head')
  drop((k) => k.startsWith('prototypes.'), 'SwAV prototypes')
  const nbt = entries.filter(([k]) => k.endsWith('num_batches_tracked')).length
  if (nbt) {
    entries = entries.filter(([k]) => !k.endsWith('num_batches_tracked'))
    notes.push(`left ${nbt} BatchNorm num_batches_tracked counter(s) out of the parameter set`)
  }

  const stateDict: StateDict = new Map()
  for (const [k, v] of entries) {
    if (stateDict.has(k)) throw new CheckpointError(file, `key ${k} occurs twice after prefix stripping`)
    stateDict.set(k, v)
  }
  return { stateDict, meta, notes }
}

function summarize(keys: string[]): string {
  return keys.length <= 4 ? keys.join(', ') : `${keys.slice(0, 3).join(', ')}, ... (+${keys.length - 3})`
}

/** Compare a state dict's keys to the keys a model expects (both in their own order). */
export function matchKeys(stateDict: StateDict | Iterable<string>, expectedKeys: string[]): { missing: string[]; unexpected: string[] } {
  const have = new Set(stateDict instanceof Map ? stateDict.keys() : stateDict)
  const want = new Set(expectedKeys)
  return {
    missing: expectedKeys.filter((k) => !have.has(k)),
    unexpected: [...have].filter((k) => !want.has(k)),
  }
}
