/**
 * Relative change of every conv weight and BN tensor during fine-tuning (paper Eq. 6, Fig. 2):
 *   ||W_after - W_before||_2 / ||W_before||_2   (Frobenius norm over the whole tensor)
 * for conv weights, BN gamma (`weight`), beta (`bias`), `running_mean` and `running_var`, in the
 * architecture's forward order, with the stage labels of the model ('stem', 'stage 1', ...).
 * A conv layer gets the stage of the BN layer that follows it in parameter order (conv1 -> bn1,
 * layer1.0.conv2 -> layer1.0.bn2, downsample.0 -> downsample.1, MobileNetV2's block_3_expand ->
 * block_3_expand_BN), so every architecture keeps its own labelling. The head is not reported.
 * ||W_before|| = 0 gives value null (never NaN / Infinity).
 */
import type { StateDict } from '../io/types'
import type { BNNet } from '../models/types'

import type { ChangeKind, RelativeChangeRow as StoredRow } from '../../../shared/types'

export type { ChangeKind }

/** The stored row (name, layer, kind, stage, value) plus the norms behind the ratio. */
export interface RelativeChangeRow extends StoredRow {
  /** ||before|| and ||after - before|| (for tooltips and log-scale plots) */
  normBefore: number
  normDelta: number
}

/** One entry of the order: which state-dict key, which kind, which layer and stage. */
export interface ChangeKey {
  name: string
  layer: string
  kind: ChangeKind
  stage: string
}

const BN_KEYS: [string, ChangeKind][] = [
  ['weight', 'gamma'],
  ['bias', 'beta'],
  ['running_mean', 'running_mean'],
  ['running_var', 'running_var'],
]

/** The reported keys of a model in forward order (conv weights interleaved with their BN layers). */
export function relativeChangeKeys(model: BNNet): ChangeKey[] {
  const bns = model.bnLayers()
  const bnByName = new Map(bns.map((l) => [l.name, l]))
  const headPrefix = `${model.headName}.`
  const out: ChangeKey[] = []
  const pendingConvs: ChangeKey[] = []
  const flush = (stage: string): void => {
    for (const c of pendingConvs) c.stage = stage
    pendingConvs.length = 0
  }
  const emitted = new Set<string>()
  for (const [name, v] of model.namedParameters()) {
    if (name.startsWith(headPrefix)) continue
    const dot = name.lastIndexOf('.')
    const layer = dot < 0 ? '' : name.slice(0, dot)
    const leaf = name.slice(dot + 1)
    const bn = bnByName.get(layer)
    if (bn) {
      flush(bn.stage)
      if (emitted.has(layer)) continue
      emitted.add(layer)
      for (const [suffix, kind] of BN_KEYS) out.push({ name: `${layer}.${suffix}`, layer, kind, stage: bn.stage })
    } else if (leaf === 'weight' && v.rank === 4) {
      const key: ChangeKey = { name, layer, kind: 'conv', stage: '' }
      pendingConvs.push(key)
      out.push(key)
    }
  }
  // convs after the last BN layer (none in the supported architectures): last stage seen
  flush(bns.length > 0 ? bns[bns.length - 1].stage : 'stem')
  return out
}

function norms(before: Float32Array | Int32Array | Uint8Array, after: Float32Array | Int32Array | Uint8Array): [number, number] {
  let nb = 0
  let nd = 0
  for (let i = 0; i < before.length; i++) {
    nb += before[i] * before[i]
    const d = after[i] - before[i]
    nd += d * d
  }
  return [Math.sqrt(nb), Math.sqrt(nd)]
}

/**
 * Eq. 6 for every conv weight and BN tensor of `model`'s architecture, from two state dicts (host
 * tensors, PyTorch names; e.g. net.stateDict() before and after training). Missing keys and shape
 * mismatches throw, naming the key and `source` (e.g. the checkpoint file).
 */
export function relativeChange(before: StateDict, after: StateDict, model: BNNet, opts: { source?: string } = {}): RelativeChangeRow[] {
  const where = opts.source ? `${opts.source}: ` : ''
  return relativeChangeKeys(model).map((k) => {
    const b = before.get(k.name)
    const a = after.get(k.name)
    if (!b) throw new Error(`${where}relativeChange: '${k.name}' is missing from the state dict before fine-tuning`)
    if (!a) throw new Error(`${where}relativeChange: '${k.name}' is missing from the state dict after fine-tuning`)
    if (b.data.length !== a.data.length || b.shape.join(',') !== a.shape.join(',')) {
      throw new Error(`${where}relativeChange: '${k.name}' has shape [${b.shape}] before and [${a.shape}] after`)
    }
    const [normBefore, normDelta] = norms(b.data, a.data)
    const value = normBefore > 0 && Number.isFinite(normBefore) && Number.isFinite(normDelta) ? normDelta / normBefore : null
    return { ...k, value, normBefore, normDelta }
  })
}

/** Mean relative change per (stage, kind), null values left out (for the per-stage bars of Fig. 2). */
export function relativeChangeByStage(rows: RelativeChangeRow[]): { stage: string; kind: ChangeKind; mean: number | null; layers: number }[] {
  const groups = new Map<string, { stage: string; kind: ChangeKind; sum: number; n: number; layers: number }>()
  for (const r of rows) {
    const key = `${r.stage}\u0000${r.kind}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { stage: r.stage, kind: r.kind, sum: 0, n: 0, layers: 0 }))
    g.layers++
    if (r.value !== null) {
      g.sum += r.value
      g.n++
    }
  }
  return [...groups.values()].map((g) => ({ stage: g.stage, kind: g.kind, mean: g.n > 0 ? g.sum / g.n : null, layers: g.layers }))
}
