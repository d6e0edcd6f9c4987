/**
 * Analysis benchmarks:
 *  1. gallery query time over 100,000 analysed images (SQLite index on run, set, label, cosine);
 *  2. the full analysis of one finished run relative to one inference pass over the same eval sets
 *     (a demo FT run, 1 epoch, trained here first).
 *   npm run bench:analysis [-- --images 100000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { openStore } from '../src/main/store/db'
import { gallery, saveAnalysis } from '../src/main/store/analysis'
import { createExperiment, createRun, finishRun } from '../src/main/store/runs'
import { ensureDemoProject } from '../src/main/services/projects'
import { initBackend } from '../src/main/engine/backend'
import { runJob } from '../src/main/engine/tasks/runJob'
import { analyzeRun } from '../src/main/engine/tasks/analyzeRun'
import { evalLoader, loadExperimentSamples } from '../src/main/engine/tasks/experimentData'
import { evaluate } from '../src/main/engine/train/evaluate'
import { loadPretrained } from '../src/main/engine/models'
import { demoDataDir, demoExperiment } from '../src/main/services/demo'
import { generateDemoData } from '../src/main/demo/generate'

const { values } = parseArgs({ options: { images: { type: 'string', default: '100000' } } })
const N = Number(values.images)
const dir = mkdtempSync(join(tmpdir(), 'daft-bench-analysis-'))
try {
  // 1. gallery query over N images
  const db = openStore(dir)
  const spec = demoExperiment(dir, resolve('resources'))
  const exp = createExperiment(db, ensureDemoProject(db), spec)
  const runId = createRun(db, exp, { model: spec.model, data: spec.data, recipe: spec.methods[1], seed: 0, role: 'single' })
  finishRun(db, runId, 'succeeded', { bestEpoch: 0, final: {} })
  const K = 10
  const label = Int32Array.from({ length: N }, (_, i) => i % K)
  const cosine = Float32Array.from({ length: N }, () => Math.random() * 2 - 1)
  let t = performance.now()
  saveAnalysis(db, runId, { runId, method: 'FT', sets: [], relativeChange: { start: [], pretrained: [] }, shift: [], seconds: 0, classes: [] } as never, [
    { set: 'id-test', path: Array.from({ length: N }, (_, i) => `/data/img${i}.png`), label, cosine, l2: cosine, predBefore: label, predAfter: label },
  ])
  const insertMs = performance.now() - t
  const classes = Array.from({ length: K }, (_, i) => `c${i}`)
  gallery(db, runId, 'id-test', classes, 8) // warm
  const reps = 20
  t = performance.now()
  for (let i = 0; i < reps; i++) gallery(db, runId, 'id-test', classes, 8)
  const queryMs = (performance.now() - t) / reps
  console.log(`gallery: ${N} images stored in ${insertMs.toFixed(0)} ms; lowest+highest 8 per class for ${K} classes: ${queryMs.toFixed(2)} ms per query`)
  db.close()

  // 2. full analysis of a run vs one inference pass over the same eval sets
  const backend = await initBackend()
  await generateDemoData(demoDataDir(dir))
  const ft = spec.methods.find((m) => m.method === 'FT')!
  const runSpec = { model: spec.model, data: spec.data, recipe: { ...ft, epochs: 1 }, seed: 0, role: 'single' as const }
  const runDir = join(dir, 'run')
  await runJob({ runId: 1, spec: runSpec, runDir, cacheDir: join(dir, 'cache'), resume: false, signal: new AbortController().signal, emit: () => undefined })
  const data = await loadExperimentSamples(spec.data, 0)
  const model = await loadPretrained(spec.model.path, 'resnet8')
  const sets = [data.test, ...data.ood.map((o) => o.samples)]
  const images = sets.reduce((s, x) => s + x.length, 0)
  const pass = async (): Promise<number> => {
    const t0 = performance.now()
    for (const s of sets) {
      const l = evalLoader(s, spec.data, 64, join(dir, 'cache'))
      await evaluate(model, l.batches())
      await l.loader.close()
    }
    return performance.now() - t0
  }
  await pass() // warms the decode cache, as the analysis finds it after a run
  const inferMs = await pass()
  model.dispose()
  t = performance.now()
  await analyzeRun({ runId: 1, spec: runSpec, runDir, cacheDir: join(dir, 'cache') })
  const analysisMs = performance.now() - t
  console.log(`analysis of one run (${backend.name}, ${images} eval images over ${sets.length} sets): ${(analysisMs / 1000).toFixed(2)} s; one inference pass: ${(inferMs / 1000).toFixed(2)} s; ratio ${(analysisMs / inferMs).toFixed(1)}x`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
