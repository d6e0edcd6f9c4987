/**
 * `daft run`, `daft runs`, `daft compare`, `daft resume`, `daft cancel`, `daft analyze`, `daft robustness`,
 * `daft export`: a thin client of the app (app.ts) on the store in --data-dir (default: the same as `npm run
 * serve`). Data goes through `app.services[op]` (the API contract the HTTP and IPC transports serve) and progress
 * through `app.events` (the API's typed events); the engine process starts only when an operation needs it.
 * (About 400 lines: eight commands with their help texts; each is a few lines over the services.)
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import type { Command } from './command'
import { helpText, out, parse, pct, progressBar, required, runIdArg, UsageError } from './args'
import { applyHeadProbe, resolveExperiment, sweepsDaft, type ExperimentFile, type RunSummary } from '../../shared/experiments'
import { headProbeLines } from '../../shared/headProbe'
import type { ExperimentSpec } from '../../shared/experiments'
import { healthLines } from '../../shared/health'
import { accuracyCell, comparisonCsv } from '../../shared/compare'
import type { ComparisonTable, Gallery } from '../../shared/types'
import type { ApiEvent } from '../../shared/api'
import type { ExperimentCatalog } from '../../shared/catalog'
import { startApp, type App } from '../app'
import { forkSpawner } from '../jobs/forkSpawner'
import { defaultDataDir } from '../dataDir'
import { DEMO_MODEL_FILE, demoDataDir } from '../services/demo'

/** --data-dir, as every store command's help says it */
export const DATA_DIR_OPT: [string, string] = ['--data-dir DIR', 'the store (default $DAFT_DATA_DIR, else the one `npm run serve` and the app use)']

const here = dirname(fileURLToPath(import.meta.url))
/** engine entry next to this file when built (out/main/engine.js), else the TypeScript source */
function engineEntry(): string {
  const built = join(here, 'engine.js')
  return existsSync(built) ? built : resolve(here, '..', 'engine', 'worker.ts')
}
function resourcesDir(): string {
  for (const up of ['..', join('..', '..'), join('..', '..', '..')]) {
    const dir = resolve(here, up, 'resources')
    if (existsSync(join(dir, 'demo'))) return dir
  }
  return resolve(here, '..', '..', '..', 'resources')
}

/**
 * The app on the store in `dataDir`, its engine process started on first use (read-only commands never start
 * it). `demo`: the demo's data and model are drawn and registered (app.demoReady) as the app does on start-up.
 */
export function openApp(dataDir: string, opts: { demo?: boolean } = {}): App {
  return startApp({ dataDir, mode: 'cli', spawner: forkSpawner({ entry: engineEntry() }), resourcesDir: resourcesDir(), skipDemo: !opts.demo, lazyEngine: true })
}

/** An app for one command: closed (its engine stopped, the store closed) when `fn` settles. */
export async function withApp<T>(dataDir: string, fn: (app: App) => Promise<T>, opts: { demo?: boolean } = {}): Promise<T> {
  const app = openApp(dataDir, opts)
  try {
    return await fn(app)
  } finally {
    await app.close()
  }
}

/**
 * Queues runs with `start` (an operation that queues and kicks them) and waits until the queue is empty, drawing
 * a progress bar from the run events. `announce` prints what `start` answered before any run's event does (a run
 * may start, and say so, before `start` returns).
 */
async function drain<T>(app: App, json: boolean, start: () => Promise<T>, announce: (r: T) => void = () => undefined): Promise<T> {
  // the engine first (runs train here unless a queue hands them to workers): a start failure is this command's
  // error, not runs left waiting in the queue
  if (!app.queue) await app.engineReady
  const bar = progressBar(!json)
  const show = (ev: ApiEvent): void => {
    if (ev.type === 'run.batch') bar(`run #${ev.runId} epoch ${ev.epoch + 1}`, ev.batch + 1, ev.batches)
    else if (ev.type === 'run.state' && !json) process.stderr.write(`run #${ev.runId}: ${ev.status}${ev.error ? ` (${ev.error})` : ''}\n`)
  }
  let held: ApiEvent[] | null = []
  const unsub = app.events.subscribe((ev) => (held ? held.push(ev) : show(ev)))
  try {
    const r = await start()
    announce(r)
    for (const ev of held.splice(0)) show(ev)
    held = null
    await app.idle()
    return r
  } finally {
    unsub()
  }
}

export function formatTable(t: ComparisonTable): string {
  const cell = (m: number | undefined, s: number | undefined, best: boolean): string => {
    const c = accuracyCell(m, s)
    return (m === undefined ? c.mean : `${best ? '*' : ' '}${c.mean} ${c.spread}`).padStart(16)
  }
  const head = `${'method'.padEnd(8)} ${'runs'.padStart(4)} ${t.sets.map((s) => s.padStart(16)).join(' ')}`
  const rows = t.rows.map((r) => `${r.method.padEnd(8)} ${String(r.runs).padStart(4)} ${t.sets.map((s) => cell(r.mean[s], r.std[s], t.best[s] === r.method)).join(' ')}`)
  const notes = t.health.map((h) => `  #${h.runId} ${h.method} seed ${h.seed}${h.role === 'sweep' ? ` (sweep, lr ${h.lr.backbone}/${h.lr.head})` : ''}: ${healthLines({ ok: false, warnings: [h.warning] })[0]}`)
  const kept = t.rows.filter((r) => r.keptStart).map((r) => `  ${r.method}: ${r.keptStart} of ${r.runs} run(s) report their starting point (epoch 0): no trained epoch beat it on ID val`)
  return [
    `experiment #${t.experimentId} ${t.experiment}: accuracy %, mean ± std over seeds, * = best per column${t.rows.some((r) => r.warnings) ? ', ! = runs with health warnings' : ''}`,
    head,
    ...rows.map((line, i) => (t.rows[i].warnings ? `${line} !` : line)),
    ...(kept.length ? ['started-point runs:', ...kept] : []),
    ...(notes.length ? ['health:', ...notes] : []),
  ].join('\n')
}

/** What `daft run` registered, for the terminal (stderr): one line per dataset and for the model. */
export function catalogLines(c: ExperimentCatalog, project: string): string[] {
  const lines = [`catalog (project '${project}'):`]
  for (const d of c.datasets) {
    const what = d.set === 'id' ? 'ID' : `OOD ${d.set}`
    if (d.dataset) lines.push(`  dataset '${d.dataset.name}' (#${d.dataset.id}, ${what}) ${d.status}: ${d.dataset.classes.length} classes, ${d.dataset.skipped} skipped, ${d.dataset.root}`)
    else lines.push(`  warning: ${what} dataset ${d.root} not registered: ${d.error}`)
  }
  const m = c.model
  if (m.model) lines.push(`  model '${m.model.name}' (#${m.model.id}, ${m.model.arch}) ${m.status}: ${m.model.path}`)
  else lines.push(`  warning: model ${m.path} not registered: ${m.error}`)
  return lines
}

/** The catalog result without the datasets' import reports (--json output of `daft run`). */
function catalogSummary(c: ExperimentCatalog): unknown {
  return {
    datasets: c.datasets.map(({ dataset, ...d }) => ({ ...d, ...(dataset ? { dataset: { id: dataset.id, name: dataset.name, root: dataset.root, classes: dataset.classes, counts: dataset.counts, skipped: dataset.skipped } } : {}) })),
    model: c.model.model ? { path: c.model.path, status: c.model.status, model: { id: c.model.model.id, name: c.model.model.name, path: c.model.model.path, arch: c.model.model.arch } } : c.model,
  }
}

/** The head rates of the spec's zero-head recipes that train (DAFT and its ablations). */
function zeroHeadRates(spec: ExperimentSpec): number[] {
  return [...new Set(spec.methods.filter((m) => m.headInit === 'zero' && m.trainBackbone).map((m) => m.lr.head))]
}

const RUN_USAGE = 'run FILE.(yaml|json) [--project NAME] [--data-dir DIR] [--json]'
export const runCommand: Command = {
  summary: 'run an experiment or sweep file; prints the comparison table',
  usage: RUN_USAGE,
  help: helpText(
    RUN_USAGE,
    'Runs an experiment or sweep file (see README, Experiment files) and prints the comparison table. The ID dataset, every OOD dataset and the model the file names are registered in the catalog first (reused when the project already holds the same content), so the app lists them and shows the runs\' images.',
    [['--project NAME', 'the project for the experiment and its catalog entries (default: the built-in project the app opens on; created when missing)'], DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, project: { type: 'string' } }, RUN_USAGE)
    const file = positionals[0]
    if (!file) throw new UsageError('an experiment file is required', RUN_USAGE)
    const abs = resolve(file)
    let parsed: ExperimentFile
    try {
      const text = readFileSync(abs, 'utf8')
      parsed = (abs.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)) as ExperimentFile
    } catch (e) {
      throw new Error(`${abs}: cannot read the experiment file (${(e as Error).message.split('\n')[0]})`, { cause: e })
    }
    const dataDir = defaultDataDir(values['data-dir'] as string | undefined)
    let usesDemo = false
    // `demo:STYLE` names a style of the built-in demo data, `demo:model` the demo's pretrained ResNet-8
    const resolvePath = (p: string): string => {
      if (!p.startsWith('demo:')) return resolve(dirname(abs), p)
      usesDemo = true
      const what = p.slice('demo:'.length)
      return what === 'model' ? join(resourcesDir(), 'demo', DEMO_MODEL_FILE) : join(demoDataDir(dataDir), what)
    }
    const resolved = resolveExperiment(parsed, resolvePath)
    // one line per problem: the file as given and the field's path in it (methods[1].lr.backbone: ...)
    if (!resolved.spec) throw new Error(resolved.errors.map((e) => `${file}: ${e}`).join('\n'))
    let spec = resolved.spec
    const json = !!values.json
    return withApp(
      dataDir,
      async (app) => {
        // the demo's data and model under the names the app gives them (drawn and registered as on the app's start-up)
        if (usesDemo) await app.demoReady.catch((e) => process.stderr.write(`warning: demo set-up failed: ${(e as Error).message}\n`))
        if (sweepsDaft(spec)) {
          // is the paper's eta_w grid safe for this model's features? recorded with the experiment either way
          const { result, grid } = await app.services['experiments.probeHeadLr']({ spec })
          spec = applyHeadProbe(spec, result, grid)
          if (!json) process.stderr.write(headProbeLines(result, grid, spec.sweep?.daftHeadLrMode ?? 'paper').join('\n') + '\n')
        } else if (!json && zeroHeadRates(spec).length) {
          // single runs with a zero head (DAFT and its ablations): warn before training when their eta_w blows up
          // (a message only: nothing is recorded, so --json skips the probe)
          const { result } = await app.services['experiments.probeHeadLr']({ spec, lrs: zeroHeadRates(spec) })
          const bad = result.points.filter((p) => p.blowup)
          if (bad.length) {
            process.stderr.write(
              `warning: on this model's features (mean squared norm ${result.meanSqFeatureNorm.toFixed(1)}) a zero head trained alone blows up at eta_w ${bad.map((p) => p.lr).join(', ')} ` +
                `(loss ${bad.map((p) => p.finalLoss.toFixed(2)).join(', ')} after ${result.steps} steps, start ln ${result.numClasses} = ${result.startLoss.toFixed(2)}): lower lr.head, or sweep it with sweep.daftHeadLr: extended\n`,
            )
          }
        }
        // one catalog: what the file names is registered where the app lists it (and serves its images from)
        const project = await app.services['projects.ensure']({ name: values.project as string | undefined })
        const catalog = await app.services['experiments.registerCatalog']({ projectId: project.id, spec })
        if (!json) process.stderr.write(catalogLines(catalog, project.name).join('\n') + '\n')
        const { experimentId } = await drain(
          app,
          json,
          () => app.services['experiments.create']({ projectId: project.id, spec }),
          ({ experimentId, runIds }) => {
            if (!json) process.stderr.write(`experiment #${experimentId} '${spec.name}': ${runIds.length} runs queued\n`)
          },
        )
        const all = await app.services['runs.list']({ experimentId })
        const table = await app.services['experiments.compare']({ experimentId })
        out(json, { experimentId, projectId: project.id, catalog: catalogSummary(catalog), runs: all, comparison: table }, () => formatTable(table))
        return all.some((r) => r.status === 'failed') ? 1 : 0
      },
      { demo: usesDemo },
    )
  },
}

/** An experiment by id or name (`experiments.find`), or the command's error. */
export async function findExperiment(app: App, idOrName: string): Promise<{ id: number; name: string }> {
  const exp = await app.services['experiments.find']({ idOrName })
  if (!exp) throw new Error(`no experiment '${idOrName}'`)
  return exp
}

/** One run (`runs.get`, without its batch losses); the error names a run that does not exist. */
async function getRun(app: App, runId: number): Promise<RunSummary> {
  return (await app.services['runs.get']({ runId, afterStep: Number.MAX_SAFE_INTEGER })).run
}

function runLine(r: RunSummary): string {
  const acc = r.final ? Object.entries(r.final).map(([k, v]) => `${k} ${pct(v)}`).join(', ') : ''
  const best = r.bestEpoch === null ? '' : r.bestEpoch < 0 ? ' best epoch 0 (start)' : ` best epoch ${r.bestEpoch + 1}`
  const health = healthLines(r.health).map((l) => `\n      ${l}`).join('')
  return `#${String(r.id).padEnd(4)} ${r.status.padEnd(11)} ${r.method.padEnd(6)} seed ${r.seed} lr ${r.lr.backbone}/${r.lr.head} ${r.experiment}${r.worker ? ` on worker ${r.worker}` : ''}${best} ${acc}${r.error ? ` error: ${r.error}` : ''}${health}`
}

const RUNS_USAGE = 'runs [--data-dir DIR] [--json]'
export const runsCommand: Command = {
  summary: 'list runs with status and best-epoch metrics',
  usage: RUNS_USAGE,
  help: helpText(RUNS_USAGE, 'Every run with its status, method, seed, learning rates, best epoch, final accuracies and health notes.', [DATA_DIR_OPT]),
  async run(args) {
    const { values } = parse(args, { 'data-dir': { type: 'string' } }, RUNS_USAGE)
    // (opening the app marks runs left running by a process that died as interrupted)
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      const list = await app.services['runs.list']({})
      out(!!values.json, { runs: list }, () => (list.length ? list.map(runLine).join('\n') : 'no runs yet'))
      return 0
    })
  },
}

const COMPARE_USAGE = 'compare EXPERIMENT [--data-dir DIR] [--json | --csv]'
export const compareCommand: Command = {
  summary: 'Table 2-style comparison of an experiment (id or name)',
  usage: COMPARE_USAGE,
  help: helpText(COMPARE_USAGE, "Table 2-style comparison of an experiment's runs (mean ± std over seeds per method and set), with health notes.", [['--csv', 'the table as CSV (the same file as Compare\'s Export CSV)'], DATA_DIR_OPT]),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, csv: { type: 'boolean' } }, COMPARE_USAGE)
    if (!positionals[0]) throw new UsageError('an experiment id or name is required', COMPARE_USAGE)
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      const exp = await findExperiment(app, positionals[0])
      const table = await app.services['experiments.compare']({ experimentId: exp.id })
      if (values.csv) process.stdout.write(comparisonCsv(table))
      else out(!!values.json, table, () => formatTable(table))
      return 0
    })
  },
}

const RESUME_USAGE = 'resume RUN [--data-dir DIR] [--json]'
export const resumeCommand: Command = {
  summary: 'resume an interrupted run from its last epoch checkpoint',
  usage: RESUME_USAGE,
  help: helpText(RESUME_USAGE, 'Resumes an interrupted run from its last epoch checkpoint and waits for it to finish.', [DATA_DIR_OPT]),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' } }, RESUME_USAGE)
    const runId = runIdArg(positionals, RESUME_USAGE)
    const json = !!values.json
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      const st = await getRun(app, runId)
      const notResumable = (): Error => new Error(`run ${runId} is ${st.status}; only interrupted runs resume`)
      if (st.status !== 'interrupted') throw notResumable()
      await drain(app, json, async () => {
        if (!(await app.services['runs.resume']({ runId })).resumed) throw notResumable()
      })
      const r = await getRun(app, runId)
      out(json, r, () => runLine(r))
      return r.status === 'succeeded' ? 0 : 1
    })
  },
}

const CANCEL_USAGE = 'cancel RUN [--data-dir DIR] [--json]'
export const cancelCommand: Command = {
  summary: 'cancel a queued or running run (also one running in the app)',
  usage: CANCEL_USAGE,
  help: helpText(CANCEL_USAGE, 'Cancels a queued run, or asks the process running it (this command line or the app) to stop between batches.', [DATA_DIR_OPT]),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' } }, CANCEL_USAGE)
    const runId = runIdArg(positionals, CANCEL_USAGE)
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      const st = await getRun(app, runId)
      // a queued run is cancelled here; a running one is asked (through the store) to stop by the process running it
      const { cancelled } = await app.services['runs.cancel']({ runId })
      out(!!values.json, { runId, cancelled, status: st.status }, () =>
        cancelled ? `run ${runId}: cancel ${st.status === 'queued' ? 'done' : 'requested (the process running it stops between batches)'}` : `run ${runId} is ${st.status}: nothing to cancel`,
      )
      return cancelled ? 0 : 1
    })
  },
}

const ANALYZE_USAGE = 'analyze RUN [--k 4] [--recompute] [--data-dir DIR] [--json]'
export const analyzeCommand: Command = {
  summary: 'feature similarity, per-layer relative change, lowest/highest images per class',
  usage: ANALYZE_USAGE,
  help: helpText(
    ANALYZE_USAGE,
    "Feature distortion of a finished run: cosine / L2 similarity of each image's features before and after fine-tuning, per-layer relative change, and the lowest / highest images per class.",
    [['--k N', 'images per class in the galleries (default 4)'], ['--recompute', 'compute again even when stored'], DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, k: { type: 'string' }, recompute: { type: 'boolean' } }, ANALYZE_USAGE)
    const runId = runIdArg(positionals, ANALYZE_USAGE)
    const k = Number(values.k ?? 4)
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      // stored, or computed now (the engine starts for that only)
      const analysis = (!values.recompute && (await app.services['analysis.get']({ runId }))) || (await app.services['analysis.recompute']({ runId }))
      const galleries: Gallery[] = []
      for (const s of analysis.sets) galleries.push(await app.services['analysis.gallery']({ runId, set: s.set, k }))
      out(!!values.json, { analysis, galleries }, () => {
        const lines = [`run #${runId} ${analysis.method}: feature distortion (pretrained vs fine-tuned features, eval mode)`]
        for (const s of analysis.sets) {
          lines.push(
            `  ${s.set.padEnd(10)} n=${s.n}  cosine ${s.cosine.mean.toFixed(4)} ± ${s.cosine.std.toFixed(4)}  L2 ${s.l2.mean.toFixed(4)} ± ${s.l2.std.toFixed(4)}  acc ${pct(s.accuracyBefore)} -> ${pct(s.accuracyAfter)}${s.convertedCheck ? `  converted features max rel. err ${s.convertedCheck.maxRelError.toExponential(1)}` : ''}`,
          )
        }
        lines.push('relative change ||W_after - W_start|| / ||W_start|| (start = weights when fine-tuning began):')
        for (const r of analysis.relativeChange.start) lines.push(`  ${r.name.padEnd(34)} ${r.stage.padEnd(9)} ${r.value === null ? 'n/a' : r.value.toExponential(3)}`)
        for (const g of galleries) {
          lines.push(`${g.set}: ${k} lowest / highest cosine per class`)
          for (const c of g.perClass) {
            lines.push(`  ${c.className.padEnd(10)} lowest  ${c.lowest.map((i) => `${i.cosine.toFixed(3)} ${i.path}`).join(' | ')}`)
            lines.push(`  ${''.padEnd(10)} highest ${c.highest.map((i) => `${i.cosine.toFixed(3)} ${i.path}`).join(' | ')}`)
          }
        }
        return lines.join('\n')
      })
      return 0
    })
  },
}

const ROBUST_USAGE = 'robustness RUN [--limit 500] [--recompute] [--data-dir DIR] [--json]'
export const robustnessCommand: Command = {
  summary: 'corruption error per corruption (15 x 5 severities) and mCE',
  usage: ROBUST_USAGE,
  help: helpText(
    ROBUST_USAGE,
    'Corruption robustness of a finished run: error per corruption (15 corruptions x 5 severities applied to ID test images) and the mCE.',
    [['--limit N', 'ID test images to corrupt (default 500)'], ['--recompute', 'compute again even when stored'], DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, limit: { type: 'string' }, recompute: { type: 'boolean' } }, ROBUST_USAGE)
    const runId = runIdArg(positionals, ROBUST_USAGE)
    const dataDir = defaultDataDir(values['data-dir'] as string | undefined)
    return withApp(dataDir, async (app) => {
      const bar = progressBar(!values.json)
      app.events.subscribe((ev) => {
        if (ev.type === 'task.progress') bar('corruptions', ev.done, ev.total)
      })
      // stored, or computed now (the engine starts for that only)
      const r = await app.services['analysis.robustness']({ runId, recompute: !!values.recompute, limit: values.limit ? Number(values.limit) : undefined })
      out(!!values.json, r, () =>
        [
          `run #${runId}: ${r.images} ID test images, clean error ${pct(r.cleanError)}, mCE ${pct(r.mCE)}`,
          ...r.corruptions.map((c) => `  ${c.name.padEnd(18)} CE ${pct(c.ce)}   by severity ${c.errors.map((e) => pct(e)).join(' ')}`),
          r.note,
        ].join('\n'),
      )
      return 0
    })
  },
}

const EXPORT_USAGE = 'export RUN --out PATH [--format safetensors|tfjs] [--initial] [--overwrite] [--data-dir DIR] [--json]'
export const exportCommand: Command = {
  summary: 'write a run\'s model as safetensors (PyTorch keys) or a TF.js layers model (an existing PATH only with --overwrite)',
  usage: EXPORT_USAGE,
  help: helpText(
    EXPORT_USAGE,
    "Writes a finished run's model as safetensors (PyTorch key names) or a TF.js layers model. An existing PATH is refused unless --overwrite.",
    [['--out PATH', 'where to write'], ['--format F', 'safetensors (default) or tfjs'], ['--initial', 'the model as fine-tuning started (after BN conversion / LP), not the final one'], ['--overwrite', 'replace an existing export'], DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, out: { type: 'string' }, format: { type: 'string' }, initial: { type: 'boolean' }, overwrite: { type: 'boolean' } }, EXPORT_USAGE)
    const runId = runIdArg(positionals, EXPORT_USAGE)
    const format = (values.format ?? 'safetensors') as 'safetensors' | 'tfjs'
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      const r = await app.services['runs.export']({ runId, format, which: values.initial ? 'initial' : 'final', out: required(values, 'out', EXPORT_USAGE), overwrite: !!values.overwrite })
      out(!!values.json, r, () => `run #${runId}: wrote ${r.format} (${r.arch}) to ${r.out}`)
      return 0
    })
  },
}
