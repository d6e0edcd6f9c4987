/**
 * Text summary of an experiment's feature distortion, per method over its reported runs (Fig. 1 and Fig. 2 of
 * the paper as numbers): mean feature cosine to the pretrained model per eval set (mean ± std over seeds) with a
 * coarse histogram, and the mean per-layer relative change of conv weights, BN gamma/beta and running statistics,
 * against the pretrained checkpoint and against the start of fine-tuning (DAFT: the converted model).
 *   npx tsx scripts/distortion-summary.ts EXPERIMENT [--data-dir DIR]
 */
import { parseArgs } from 'node:util'
import { openStore } from '../src/main/store/db'
import * as runs from '../src/main/store/runs'
import { getAnalysis } from '../src/main/store/analysis'
import { defaultDataDir } from '../src/main/dataDir'
import { mean, std } from '../src/shared/compare'
import type { ChangeKind, RunAnalysis } from '../src/shared/types'

const { values, positionals } = parseArgs({ options: { 'data-dir': { type: 'string' } }, allowPositionals: true })
const db = openStore(defaultDataDir(values['data-dir']))
const exp = runs.findExperiment(db, positionals[0] ?? '')
if (!exp) throw new Error(`no experiment '${positionals[0]}'`)
const all = runs.listRuns(db, { experimentId: exp.id }).filter((r) => r.status === 'succeeded')
const reported = all.some((r) => r.role === 'final') ? all.filter((r) => r.role !== 'sweep') : all
const byMethod = new Map<string, RunAnalysis[]>()
for (const r of reported) {
  const a = getAnalysis(db, r.id)
  if (a) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), a])
}
const pm = (xs: number[], d = 3): string => `${mean(xs).toFixed(d)} ± ${std(xs).toFixed(d)}`
const sets = [...new Set([...byMethod.values()].flatMap((as) => as.flatMap((a) => a.sets.map((s) => s.set))))]
console.log(`experiment #${exp.id} ${exp.name}: feature distortion of the reported runs (mean ± std over seeds)`)
console.log('\nFig. 1: mean cosine similarity of each image\'s features, pretrained vs fine-tuned (1 = unchanged)')
console.log(`${'method'.padEnd(8)} ${'runs'.padStart(4)} ${sets.map((s) => s.padStart(16)).join(' ')}`)
for (const [m, as] of byMethod) console.log(`${m.padEnd(8)} ${String(as.length).padStart(4)} ${sets.map((s) => pm(as.map((a) => a.sets.find((x) => x.set === s)?.cosine.mean ?? NaN)).padStart(16)).join(' ')}`)
const BINS = [-1, 0.5, 0.8, 0.9, 0.95, 1.0000001]
console.log(`\nFig. 1 histogram (share of images per cosine bin, all sets and seeds): ${BINS.slice(0, -1).map((b, i) => `[${b}, ${Math.min(1, BINS[i + 1])})`).join(' ')}`)
for (const [m, as] of byMethod) {
  const counts = new Array(BINS.length - 1).fill(0)
  let total = 0
  for (const a of as)
    for (const s of a.sets) {
      const h = s.cosine.histogram
      h.counts.forEach((c, i) => {
        const mid = (h.edges[i] + h.edges[i + 1]) / 2
        const bin = BINS.findIndex((b, j) => mid >= b && mid < BINS[j + 1])
        counts[Math.max(0, bin)] += c
        total += c
      })
    }
  console.log(`${m.padEnd(8)} ${counts.map((c) => `${((100 * c) / Math.max(1, total)).toFixed(1)}%`.padStart(8)).join(' ')}`)
}
const KINDS: ChangeKind[] = ['conv', 'gamma', 'beta', 'running_mean', 'running_var']
for (const ref of ['pretrained', 'start'] as const) {
  console.log(`\nFig. 2: mean per-layer relative change ||after - ${ref}|| / ||${ref}|| (layers averaged, then seeds)`)
  console.log(`${'method'.padEnd(8)} ${KINDS.map((k) => k.padStart(18)).join(' ')}`)
  for (const [m, as] of byMethod) {
    const cell = (k: ChangeKind): string => {
      const per = as.map((a) => mean(a.relativeChange[ref].filter((r) => r.kind === k && r.value !== null).map((r) => r.value as number)))
      return per.every(Number.isFinite) ? pm(per, 4) : '-'
    }
    console.log(`${m.padEnd(8)} ${KINDS.map((k) => cell(k).padStart(18)).join(' ')}`)
  }
}
db.close()
