/** Class alignment between sets (by folder name) and the seeded, stratified train/val split. */
import type { ClassAlignmentReport } from '../../../shared/datasets'
import { fork } from '../../../shared/random'

export interface ClassAlignment extends ClassAlignmentReport {
  /** folder class name -> ID label (-1 = dropped) */
  labelOf: Record<string, number>
  notes: string[]
}

/**
 * Align a set's class folders to the ID class list. Folders match ID classes by exact name, then
 * case-insensitively; `mapping` renames folders explicitly (`{ 'car': 'automobile', 'monkey': null }`,
 * null = drop). Folders with no ID class are dropped with a note (like STL's 'monkey' in the paper).
 */
export function alignClasses(idClasses: string[], setClasses: string[], mapping: Record<string, string | null> = {}): ClassAlignment {
  const idIndex = new Map(idClasses.map((c, i) => [c, i]))
  const lower = new Map(idClasses.map((c, i) => [c.toLowerCase(), i]))
  for (const [from, to] of Object.entries(mapping)) {
    if (!setClasses.includes(from)) throw new Error(`class mapping: folder '${from}' does not exist in this set (folders: ${setClasses.join(', ')})`)
    if (to !== null && !idIndex.has(to)) throw new Error(`class mapping: '${from}' -> '${to}', but '${to}' is not an ID class (${idClasses.join(', ')})`)
  }
  const labelOf: Record<string, number> = {}
  const dropped: string[] = []
  const renamed: Record<string, string> = {}
  const notes: string[] = []
  for (const c of setClasses) {
    let label = -1
    if (Object.prototype.hasOwnProperty.call(mapping, c)) {
      const to = mapping[c]
      if (to !== null) {
        label = idIndex.get(to)!
        if (to !== c) renamed[c] = to
      }
    } else if (idIndex.has(c)) label = idIndex.get(c)!
    else if (lower.has(c.toLowerCase())) {
      label = lower.get(c.toLowerCase())!
      renamed[c] = idClasses[label]
      notes.push(`folder '${c}' matched ID class '${idClasses[label]}' ignoring case`)
    }
    labelOf[c] = label
    if (label < 0) {
      dropped.push(c)
      notes.push(`class '${c}' is not an ID class: its samples are dropped`)
    }
  }
  const covered = new Set(Object.values(labelOf).filter((l) => l >= 0))
  const claimed = new Map<number, string[]>()
  for (const [c, l] of Object.entries(labelOf)) if (l >= 0) claimed.set(l, [...(claimed.get(l) ?? []), c])
  for (const [l, names] of claimed) if (names.length > 1) notes.push(`folders ${names.map((n) => `'${n}'`).join(', ')} all map to ID class '${idClasses[l]}'`)
  const missing = idClasses.filter((_, i) => !covered.has(i))
  if (missing.length > 0) notes.push(`ID classes absent from this set: ${missing.join(', ')}`)
  return { labelOf, dropped, missing, renamed, notes }
}

/**
 * Split samples into train / val, stratified by label: each class gives round(n * fraction) samples to
 * val (at least 1 when it has 2 or more and fraction > 0), chosen by a seeded shuffle. Both parts keep the input order.
 */
export function stratifiedSplit<T extends { label: number }>(samples: T[], fraction: number, seed: number): { train: T[]; val: T[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`stratifiedSplit: fraction must be in [0, 1) (got ${fraction})`)
  const byLabel = new Map<number, number[]>()
  samples.forEach((s, i) => {
    const list = byLabel.get(s.label)
    if (list) list.push(i)
    else byLabel.set(s.label, [i])
  })
  const isVal = new Uint8Array(samples.length)
  for (const [label, idx] of [...byLabel.entries()].sort((a, b) => a[0] - b[0])) {
    let nVal = Math.round(idx.length * fraction)
    if (fraction > 0 && nVal === 0 && idx.length >= 2) nVal = 1
    if (nVal >= idx.length) nVal = idx.length - 1
    const perm = fork(seed, 'stratified-split', label).permutation(idx.length)
    for (let k = 0; k < nVal; k++) isVal[idx[perm[k]]] = 1
  }
  return { train: samples.filter((_, i) => !isVal[i]), val: samples.filter((_, i) => isVal[i] === 1) }
}
