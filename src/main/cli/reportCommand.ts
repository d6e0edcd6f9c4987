/** `daft report EXPERIMENT`: the shareable report (one self-contained HTML file), as Compare's "Download report". */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { Command } from './command'
import { helpText, out, parse, UsageError } from './args'
import { DATA_DIR_OPT, findExperiment, withApp } from './storeCommands'
import { defaultDataDir } from '../dataDir'

/** Writes `text` to `target` through a temp file next to it (fsynced, renamed into place); refuses an existing target unless `overwrite`. */
export function writeFileAtomic(target: string, text: string, overwrite: boolean): void {
  if (!overwrite && existsSync(target)) throw new Error(`${target} exists; pass --overwrite to replace it`)
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`)
  try {
    const fd = openSync(tmp, 'wx', 0o644)
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    if (!overwrite && existsSync(target)) throw new Error(`${target} exists; pass --overwrite to replace it`)
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

const REPORT_USAGE = 'report EXPERIMENT [--out report.html] [--overwrite] [--data-dir DIR] [--json]'
export const reportCommand: Command = {
  summary: 'write a shareable, self-contained HTML report of an experiment (id or name)',
  usage: REPORT_USAGE,
  help: helpText(
    REPORT_USAGE,
    "Writes ONE self-contained HTML file that opens offline in a browser: the comparison table (mean ± std, n) with the health notes, Fig. 1 (feature-similarity histograms per method and set), Fig. 2 (per-layer relative change), the galleries of the most shifted OOD set as embedded thumbnails, every run's recipe, the sweep grids and head-rate probe, and the versions used. The same file as Compare's Download report.",
    [['--out FILE', 'where to write (default: the suggested name, daft-report-<name>-<id>.html, in the current folder)'], ['--overwrite', 'replace an existing FILE'], DATA_DIR_OPT],
  ),
  async run(args) {
    const { values, positionals } = parse(args, { 'data-dir': { type: 'string' }, out: { type: 'string' }, overwrite: { type: 'boolean' } }, REPORT_USAGE)
    if (!positionals[0]) throw new UsageError('an experiment id or name is required', REPORT_USAGE)
    // the report is built from the store alone: the engine process is never started
    return withApp(defaultDataDir(values['data-dir'] as string | undefined), async (app) => {
      const exp = await findExperiment(app, positionals[0])
      const { html, fileName } = await app.services['experiments.report']({ experimentId: exp.id })
      const target = resolve(typeof values.out === 'string' && values.out ? values.out : fileName)
      writeFileAtomic(target, html, !!values.overwrite)
      const bytes = Buffer.byteLength(html)
      out(!!values.json, { experimentId: exp.id, out: target, bytes }, () => `experiment #${exp.id} '${exp.name}': wrote the report to ${target} (${(bytes / 1024).toFixed(0)} KB)`)
      return 0
    })
  },
}
