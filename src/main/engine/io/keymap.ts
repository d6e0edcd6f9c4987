/**
 * Key mapping: from whatever torch.save wrote (a bare state dict, or { state_dict | model | net: ..., epoch,
 * best_prec1, ... }) to a StateDict in plain PyTorch module names, recording every action in notes.
 *  - unwraps `state_dict` / `model_state_dict` / `model` / `net` / `network` wrappers (nested too)
 *  - strips `_orig_mod.` (torch.compile), `module.` (DataParallel) and `encoder_q.` (MoCo) prefixes
 *  - drops MoCo/SimCLR/SwAV training-only parts: `encoder_k.*`, `queue*`, MLP projection heads
 *    `fc.0.*` / `fc.2.*`, `projection_head.*`, `prototypes.*`
 *  - keeps BatchNorm `num_batches_tracked` counters out of the parameter set
 * Plain metadata is copied as a tree, so a list the pickle references many times would be copied at every
 * reference: the copy counts every value it visits and refuses more than LIMITS.metaValues. The classifier
 * head (`linear.weight` / `fc.weight`, whose first dimension becomes the class count) must hold weights and
 * at most LIMITS.maxClasses outputs.
 */
import { LIMITS, describe } from './limits'
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

/** Values visited while copying metadata; `seen` marks containers already copied (a second visit = shared). */
interface PlainBudget { left: number; seen: Set<object>; shared: boolean }
const EXHAUSTED = Symbol('metadata budget exhausted')
const SKIPPED = Symbol('metadata entry left out')

/**
 * A JSON-friendly copy of a plain Python value, or undefined if it is not plain (tensor dicts, objects).
 * Every visit costs one unit of `budget` (a shared container once per reference, as the copy holds it);
 * running out throws EXHAUSTED.
 */
function toPlain(v: unknown, budget: PlainBudget, depth = 0): unknown {
  if (--budget.left < 0) throw EXHAUSTED
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()
  if (isHostTensor(v)) return v.data.length === 1 ? Number(v.data[0]) : undefined
  if (depth > 4) return undefined
  if (Array.isArray(v) || v instanceof Map) {
    if (budget.seen.has(v)) budget.shared = true
    else budget.seen.add(v)
  }
  if (Array.isArray(v)) {
    if (v.length > 1000) return undefined
    const out: unknown[] = []
    for (const x of v) {
      const p = toPlain(x, budget, depth + 1)
      if (p === undefined) return undefined
      out.push(p)
    }
    return out
  }
  if (v instanceof Map) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of v) {
      if (typeof k !== 'string') return undefined
      const p = toPlain(x, budget, depth + 1)
      if (p === undefined) return undefined
      out[k] = p
    }
    return out
  }
  return undefined
}

/**
 * toPlain for one metadata entry. An entry too large on its own is left out with a note (its budget is given
 * back: it was all new values, each paid for by bytes of the file); one that exhausts the budget by copying
 * shared containers again and again is refused.
 */
function plainEntry(v: unknown, budget: PlainBudget, file: string, key: string, notes: string[]): unknown {
  const before = budget.left
  budget.shared = false
  try {
    return toPlain(v, budget)
  } catch (e) {
    if (e !== EXHAUSTED) throw e
    if (budget.shared) {
      throw new CheckpointError(file, `refused to load: the metadata entry '${key}' beside the state dict expands to more than ${LIMITS.metaValues} values by referencing the same lists or dicts again and again`)
    }
    budget.left = before
    notes.push(`ignored entry '${key}' beside the state dict: more than ${LIMITS.metaValues} values`)
    return SKIPPED
  }
}

/**
 * The class count comes from the head's first dimension: refuse heads without weights (a zero-element
 * tensor may declare any first dimension) or with more than LIMITS.maxClasses outputs.
 */
function checkHead(stateDict: StateDict, file: string): void {
  for (const key of ['linear.weight', 'fc.weight']) {
    const t = stateDict.get(key)
    if (!t) continue
    const k = t.shape[0] ?? 0
    const shape = JSON.stringify(t.shape)
    if (t.data.length === 0) throw new CheckpointError(file, `classifier '${key}' (shape ${shape}) holds no weights, so it cannot define ${k} classes`)
    if (k < 1 || k > LIMITS.maxClasses) throw new CheckpointError(file, `classifier '${key}' (shape ${shape}) has ${k} outputs; at most ${LIMITS.maxClasses} classes are supported`)
  }
}

/** Turn an unpickled checkpoint (tensors already HostTensors) into a normalised StateDict + meta + notes. */
export function normalizeStateDict(raw: unknown, file = '(state dict)'): NormalizedStateDict {
  const notes: string[] = []
  const meta: Record<string, unknown> = {}
  let cur: unknown = raw
  let path = ''
  const budget: PlainBudget = { left: LIMITS.metaValues, seen: new Set(), shared: false }
  // a wrapper key holding a dict always wins: a real state dict never maps a bare 'model' to a dict
  for (let depth = 0; depth < 4; depth++) {
    if (!(cur instanceof Map)) break
    const key = WRAPPERS.find((k) => cur instanceof Map && cur.get(k) instanceof Map)
    if (!key) break
    for (const [k, v] of cur) {
      if (k === key) continue
      const name = `${path}${describe(k)}`
      const p = plainEntry(v, budget, file, name, notes)
      if (p === SKIPPED) continue
      if (p !== undefined && (typeof k === 'string' || typeof k === 'number')) meta[String(k)] = p
      else notes.push(`ignored non-plain entry '${name}' beside the state dict`)
    }
    notes.push(`unwrapped '${path}${key}'`)
    path += `${key}.`
    cur = cur.get(key)
  }
  if (!isTensorDict(cur)) throw new CheckpointError(file, 'no state dict found: the checkpoint holds no name -> tensor mapping (looked inside state_dict/model/net)')

  let entries: [string, HostTensor][] = []
  for (const [k, v] of cur) {
    if (isHostTensor(v) && (typeof k === 'string' || typeof k === 'number')) entries.push([String(k), v])
    else notes.push(`ignored non-tensor entry '${describe(k)}' in the state dict`)
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
  checkHead(stateDict, file)
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
