/**
 * One schema per API operation's request. src/shared/api.ts takes the request types from here (z.input), and the
 * service layer parses every request with them before an operation runs (src/main/services/index.ts), so both
 * transports and the command line are checked in one place. What needs the store (does the dataset have this
 * split? does the run exist?) is checked by the operation itself.
 */
import { z } from 'zod'
import { ExperimentSpecSchema } from './experiment'
import { check, got, idField, intIn, num, positiveInt, text, type FieldIssue } from './issues'

/** Largest preview grid per class (datasets.preview). */
export const PREVIEW_MAX_PER_CLASS = 64

/** a request is a JSON object; keys no schema names are dropped */
const obj = <T extends z.core.$ZodShape>(shape: T) => z.object(shape, got('must be a JSON object'))
const none = obj({})
const name = text('expected a non-empty name')
const valFraction = num('a number from 0 (no val split) up to, not including, 1', (v) => v >= 0 && v < 1)
const flag = z.boolean(got('true or false'))
const datasetImport = obj({ projectId: idField, root: text('the dataset folder is required'), name: name.optional(), valFraction: valFraction.optional() })
const modelImport = obj({ projectId: idField, path: text('the checkpoint file is required'), name: name.optional(), arch: z.string(got('an architecture name')).optional() })
const byProject = obj({ projectId: idField })
const byExperiment = obj({ experimentId: idField })
const byRun = obj({ runId: idField })

export const REQUEST_SCHEMAS = {
  'app.status': none,
  'app.doctor': none,
  'projects.list': none,
  'projects.ensure': obj({ name: name.optional() }),
  'fs.listDir': obj({ path: z.string(got('a folder path')).optional() }),
  'fs.pickFolder': obj({ title: z.string(got('text')).optional() }),

  'datasets.import': datasetImport,
  'datasets.register': datasetImport,
  'datasets.list': byProject,
  'datasets.get': obj({ id: idField }),
  'datasets.preview': obj({
    id: idField,
    /** one of the dataset's own splits (checked against its import report by the operation) */
    split: z.string(got('a split name (text)')),
    perClass: intIn(1, PREVIEW_MAX_PER_CLASS, `an integer from 1 to ${PREVIEW_MAX_PER_CLASS}`),
  }),
  'images.get': obj({ path: text('an image path'), size: num('a thumbnail size in pixels', (v) => v > 0).optional() }),

  'models.import': modelImport,
  'models.register': modelImport,
  'models.list': byProject,
  'models.shift': obj({
    modelId: idField,
    datasetId: idField,
    split: z.string(got('a split name (text)')).optional(),
    limit: num('a positive integer number of images', (v) => Number.isInteger(v) && v >= 1).optional(),
  }),

  'experiments.create': obj({ projectId: idField, spec: ExperimentSpecSchema }),
  'demo.run': obj({ epochs: intIn(1, 1000).optional() }),
  'experiments.list': byProject,
  'experiments.find': obj({ idOrName: text('an experiment id or name is required') }),
  'experiments.registerCatalog': obj({ projectId: idField, spec: ExperimentSpecSchema }),
  'experiments.compare': byExperiment,
  'experiments.probeHeadLr': obj({
    spec: ExperimentSpecSchema,
    lrs: z.array(num('a positive learning rate', (v) => v > 0), got('a non-empty list of positive learning rates')).min(1, 'a non-empty list of positive learning rates').optional(),
  }),
  'experiments.report': byExperiment,

  'runs.list': obj({ experimentId: idField.optional() }),
  /** losses after step `afterStep` (-1: all) */
  'runs.get': obj({ runId: idField, afterStep: num('an integer step, -1 or more', (v) => Number.isInteger(v) && v >= -1).optional() }),
  'runs.cancel': byRun,
  'runs.resume': byRun,
  'runs.export': obj({
    runId: idField,
    format: z.enum(['safetensors', 'tfjs'], got('safetensors or tfjs')),
    which: z.enum(['final', 'initial'], got("'final' or 'initial'")).optional(),
    out: text('the output path is required'),
    overwrite: flag.optional(),
  }),

  'workers.list': none,
  'queue.settings': none,
  'queue.saveSettings': obj({
    redis: z.string(got('a redis://HOST:PORT URL, or empty: runs train on this machine')).optional(),
    shared: z.string(got('a folder path')).optional(),
  }),

  'analysis.get': byRun,
  'analysis.recompute': byRun,
  'analysis.gallery': obj({ runId: idField, set: text('an eval set name'), k: positiveInt.optional() }),
  'analysis.robustness': obj({ runId: idField, recompute: flag.optional(), limit: positiveInt.optional() }),
} satisfies Record<string, z.ZodType<object>>

export type RequestSchemas = typeof REQUEST_SCHEMAS
export type RequestOp = keyof RequestSchemas
/** What a caller sends */
export type RequestIn<K extends RequestOp> = z.input<RequestSchemas[K]>
/** What the operation receives once parsed */
export type RequestOut<K extends RequestOp> = z.output<RequestSchemas[K]>

/** Parses one operation's request: the value the operation receives, or every problem with its field. */
export function checkRequest<K extends RequestOp>(op: K, raw: unknown): { ok: true; value: RequestOut<K> } | { ok: false; issues: FieldIssue[] } {
  const schema: z.ZodType | undefined = Object.hasOwn(REQUEST_SCHEMAS, op) ? REQUEST_SCHEMAS[op] : undefined
  if (!schema) return { ok: false, issues: [{ path: '', message: `no request schema for operation ${String(op)}` }] }
  return check(schema, raw) as { ok: true; value: RequestOut<K> } | { ok: false; issues: FieldIssue[] }
}
