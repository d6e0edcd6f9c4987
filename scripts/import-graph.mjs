#!/usr/bin/env node
/**
 * The import graph at folder level, as text: `npm run graph` (or `node scripts/import-graph.mjs [DIR]` for another
 * checkout, e.g. an old commit in a git worktree). Prints the module-level cycles dependency-cruiser finds, every
 * folder -> folder edge with its import count, and the back-edges (folder pairs that import each other), so a
 * before/after of a refactor is two runs of one command. Folders: src/main/<folder> (src/main/engine one level deeper:
 * engine/tasks, engine/nn, ...; files directly in main/ and main/engine/ each a node), shared/ and renderer/ one node each.
 */
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

const root = resolve(process.argv[2] ?? '.')
const bin = resolve(import.meta.dirname, '..', 'node_modules', '.bin', 'depcruise')
const raw = execFileSync(bin, ['src', '--config', resolve(import.meta.dirname, '..', '.dependency-cruiser.cjs'), '--output-type', 'json', '--include-only', '^src'], {
  cwd: root,
  maxBuffer: 256 * 1024 * 1024,
  encoding: 'utf8',
})
const { modules } = JSON.parse(raw)

function folderOf(path) {
  const parts = path.split('/').slice(1)
  // main/engine/tasks/runJob.ts -> main/engine/tasks; files directly in main/ or main/engine/ stand alone
  // (main/app.ts, main/engine/protocol.ts: an entry and a contract are not one node)
  // shared/ is one layer (its schemas/ use its presets and are used by its contract): one node
  if (parts[0] === 'shared') return 'shared'
  const depth = parts[1] === 'engine' ? 3 : 2
  if (parts[0] === 'main' && parts.length <= depth) return parts.join('/').replace(/\.ts$/, '')
  return parts.slice(0, Math.min(depth, parts.length - 1)).join('/')
}

const edges = new Map()
const examples = new Map()
const cycles = new Set()
for (const m of modules) {
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('src/')) continue
    if (d.circular && d.cycle) cycles.add([m.source, ...d.cycle.map((c) => (typeof c === 'string' ? c : c.name))].join(' -> '))
    const a = folderOf(m.source)
    const b = folderOf(d.resolved)
    if (a === b) continue
    const k = `${a} -> ${b}`
    edges.set(k, (edges.get(k) ?? 0) + 1)
    if (!examples.has(k)) examples.set(k, [])
    examples.get(k).push(`${m.source.slice(4)} -> ${d.resolved.slice(4)}`)
  }
}

// a cycle is reported from each of its modules: keep one rotation each
const seen = new Set()
const uniqueCycles = []
for (const c of cycles) {
  const nodes = c.split(' -> ').slice(0, -1)
  const key = [...nodes].sort().join('|')
  if (seen.has(key)) continue
  seen.add(key)
  uniqueCycles.push(c)
}

console.log(`${root}: ${modules.filter((m) => m.source.startsWith('src/')).length} modules`)
console.log(`\nmodule cycles: ${uniqueCycles.length}`)
for (const c of uniqueCycles) console.log(`  ${c}`)
const sorted = [...edges].sort((x, y) => x[0].localeCompare(y[0]))
console.log(`\nfolder edges: ${sorted.length}`)
for (const [k, n] of sorted) console.log(`  ${k} (${n})`)
const back = sorted.filter(([k]) => {
  const [a, b] = k.split(' -> ')
  return a < b && edges.has(`${b} -> ${a}`)
})
console.log(`\nback-edges (folders importing each other): ${back.length}`)
for (const [k, n] of back) {
  const [a, b] = k.split(' -> ')
  console.log(`  ${a} <-> ${b} (${n} / ${edges.get(`${b} -> ${a}`)})`)
  // the thinner direction is the one to question: list its imports
  const thin = n <= edges.get(`${b} -> ${a}`) ? k : `${b} -> ${a}`
  for (const e of examples.get(thin)) console.log(`      ${e}`)
}
