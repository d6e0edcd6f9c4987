/**
 * Export a run's fine-tuned model (or the converted model it started from) as safetensors or a TF.js layers model.
 *
 * An export never leaves a half-written model where the user asked for one: it is written (and fsynced) to
 * `<out>.tmp-<pid>-<n>` next to the target and renamed into place. An existing target is refused unless
 * `overwrite` is set; even then only a file is replaced by a safetensors export, and only a folder holding a
 * TF.js model (a model.json) or nothing by a TF.js export. Exports keep the user's umask.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { readSafetensors } from '../io'
import { exportTfjs } from '../models/tfjsExport'
import { loadPretrained, type ArchName } from '../models'
import { loadExperimentSamples } from './experimentData'
import { FINAL_WEIGHTS, INITIAL_WEIGHTS, type ExportRequest } from '../protocol'

export type { ExportRequest }
import { fsyncDir, fsyncFile } from './checkpoint'


/** Thrown when `out` exists and may not (or cannot) be replaced; `code` is 'exists'. */
export class ExportTargetError extends Error {
  readonly code = 'exists'
}

type Target = 'absent' | 'file' | 'empty-dir' | 'model-dir'

/** What is at `out` now, refusing what this export may not replace. */
export function checkExportTarget(out: string, format: 'safetensors' | 'tfjs', overwrite: boolean): Target {
  let st
  try {
    st = statSync(out)
  } catch {
    return 'absent'
  }
  if (format === 'safetensors') {
    if (!st.isFile()) throw new ExportTargetError(`${out} exists and is not a file; a safetensors export is one file`)
    if (!overwrite) throw new ExportTargetError(`${out} exists; pass overwrite (daft export --overwrite) to replace it`)
    return 'file'
  }
  if (!st.isDirectory()) throw new ExportTargetError(`${out} exists and is not a folder; a TF.js export is a folder (model.json + weights.bin)`)
  const entries = readdirSync(out)
  if (!entries.length) return 'empty-dir'
  if (!entries.includes('model.json')) throw new ExportTargetError(`${out} is a folder that holds no TF.js model (no model.json); it is not replaced, choose another folder`)
  if (!overwrite) throw new ExportTargetError(`${out} exists; pass overwrite (daft export --overwrite) to replace it`)
  return 'model-dir'
}

function tempNameFor(out: string): string {
  return join(dirname(out), `${basename(out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** Moves the finished file `tmp` to `out`: replacing it when allowed, else failing if `out` appeared meanwhile. */
function placeFile(tmp: string, out: string, overwrite: boolean): void {
  if (overwrite) renameSync(tmp, out)
  else {
    try {
      // link() never replaces: the no-clobber check and the placement are one step
      linkSync(tmp, out)
      unlinkSync(tmp)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new ExportTargetError(`${out} exists; pass overwrite (daft export --overwrite) to replace it`)
      // file systems without hard links (FAT, some network shares): check, then rename
      if (existsSync(out)) throw new ExportTargetError(`${out} exists; pass overwrite (daft export --overwrite) to replace it`)
      renameSync(tmp, out)
    }
  }
  fsyncDir(dirname(out))
}

/** Moves the finished folder `tmp` to `out` (absent, empty, or an earlier TF.js export when `target` says so). */
function placeDir(tmp: string, out: string, target: Target): void {
  if (target === 'model-dir') {
    const old = join(dirname(out), `${basename(out)}.old-${process.pid}-${randomBytes(4).toString('hex')}`)
    renameSync(out, old)
    try {
      renameSync(tmp, out)
    } catch (e) {
      renameSync(old, out)
      throw e
    }
    fsyncDir(dirname(out))
    rmSync(old, { recursive: true, force: true })
    return
  }
  if (target === 'empty-dir') rmdirSync(out) // fails (ENOTEMPTY) if something appeared in it meanwhile
  try {
    // rename() onto an existing non-empty folder fails: nothing is replaced that was not checked
    renameSync(tmp, out)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') throw new ExportTargetError(`${out} exists; pass overwrite (daft export --overwrite) to replace it`)
    throw e
  }
  fsyncDir(dirname(out))
}

export async function exportRun(req: ExportRequest): Promise<{ out: string; format: string; arch: string }> {
  const file = join(req.runDir, req.which === 'final' ? FINAL_WEIGHTS : INITIAL_WEIGHTS)
  if (!existsSync(file)) throw new Error(`${file}: the run has no ${req.which} weights`)
  const overwrite = !!req.overwrite
  checkExportTarget(req.out, req.format, overwrite)
  mkdirSync(dirname(req.out), { recursive: true })
  const tmp = tempNameFor(req.out)
  try {
    if (req.format === 'safetensors') {
      copyFileSync(file, tmp) // already PyTorch key names and layouts
      fsyncFile(tmp)
      placeFile(tmp, req.out, overwrite)
      return { out: req.out, format: 'safetensors', arch: req.spec.model.arch ?? 'detected' }
    }
    const data = await loadExperimentSamples(req.spec.data, req.spec.seed)
    const model = await loadPretrained(req.spec.model.path, req.spec.model.arch as ArchName | undefined)
    try {
      model.replaceHead(data.classes.length, 'zero')
      model.loadStateDict(readSafetensors(file).stateDict, { source: file })
      await exportTfjs(model, tmp, { classes: data.classes, method: req.spec.recipe.method, normalize: req.spec.data.normalize, inputSize: req.spec.data.size })
    } finally {
      model.dispose()
    }
    for (const f of readdirSync(tmp)) fsyncFile(join(tmp, f))
    fsyncDir(tmp)
    // what is at `out` now (the check above ran before the slow part)
    placeDir(tmp, req.out, checkExportTarget(req.out, 'tfjs', overwrite))
    return { out: join(req.out, 'model.json'), format: 'tfjs', arch: model.arch }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
