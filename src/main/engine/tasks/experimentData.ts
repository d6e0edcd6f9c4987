/**
 * Turns an experiment's data section into samples and loaders: ID train / val / test (val split off
 * train when the folder has none), OOD sets aligned to the ID classes by folder name, stratified
 * seeded subsets when limits are set.
 */
import type { ExperimentData } from '../../../shared/experiments'
import type { TransformConfig, TransformOp } from '../../../shared/datasets'
import { importDataset, type Sample } from '../data/import'
import { stratifiedSplit } from '../data/split'
import { createLoader, type DataLoader } from '../data/loader'
import type { TrainBatch } from '../train/evaluate'

export interface ExperimentSamples {
  classes: string[]
  train: Sample[]
  val: Sample[]
  test: Sample[]
  ood: { name: string; samples: Sample[] }[]
  notes: string[]
}

/** About `n` samples (per-class rounding), stratified by label, seeded; all of them when n is absent or large. */
export function stratifiedSubset<T extends { label: number }>(samples: T[], n: number | undefined, seed: number): T[] {
  if (!n || n >= samples.length) return samples
  return stratifiedSplit(samples, n / samples.length, seed).val
}

/**
 * The experiment's samples. Which images form ID val (held out of train when the folder has no val/) and
 * the limited subsets depend on the experiment's `splitSeed` only, so every run and seed of an experiment
 * trains, selects and reports on the same images; `runSeed` is used only by specs stored before
 * `splitSeed` existed.
 */
export async function loadExperimentSamples(data: ExperimentData, runSeed: number): Promise<ExperimentSamples> {
  const seed = data.splitSeed ?? runSeed
  const notes: string[] = []
  const id = await importDataset(data.id.root, { role: 'id', valFraction: data.valFraction, seed, verify: 'none', classes: data.classes })
  notes.push(...id.report.notes)
  const trainAll = id.splits.train ?? []
  if (!trainAll.length) throw new Error(`${data.id.root}: no training images (expected class folders, or a train/ folder)`)
  const limits = data.id.limits ?? {}
  const train = stratifiedSubset(trainAll, limits.train ?? data.id.limit, seed)
  const val = stratifiedSubset(id.splits.val ?? [], limits.val, seed + 1)
  const test = stratifiedSubset(id.splits.test ?? [], limits.test, seed + 2)
  if (!val.length) notes.push('no ID validation images: early stopping keeps the last epoch')
  const ood: ExperimentSamples['ood'] = []
  for (const [name, ref] of Object.entries(data.ood)) {
    const set = await importDataset(ref.root, { role: 'ood', classes: id.classes, verify: 'none', valFraction: 0 })
    notes.push(...set.report.notes.map((n) => `${name}: ${n}`))
    const pool = set.splits.test ?? set.splits.val ?? set.splits.train ?? []
    if (!pool.length) throw new Error(`${ref.root}: OOD set '${name}' has no images of the ID classes (${id.classes.join(', ')})`)
    ood.push({ name, samples: stratifiedSubset(pool, ref.limit, seed + 3) })
  }
  return { classes: id.classes, train, val, test, ood, notes }
}

export function evalTransformOf(data: ExperimentData): TransformConfig {
  return { ops: [{ op: 'resize', size: [data.size, data.size] }], normalize: { preset: data.normalize } }
}

export function trainTransformOf(data: ExperimentData): TransformConfig {
  const ops: TransformOp[] = [{ op: 'resize', size: [data.size, data.size] }, ...data.augment]
  return { ops, normalize: { preset: data.normalize } }
}

export interface LoaderSet {
  loader: DataLoader
  /** batches of one pass (evaluation order, no shuffle) */
  batches: () => AsyncIterable<TrainBatch>
}

export function evalLoader(samples: Sample[], data: ExperimentData, batchSize: number, cacheDir: string | null, workers?: number): LoaderSet {
  const loader = createLoader({ samples, batchSize, shuffle: false, transform: evalTransformOf(data), cacheDir, workers })
  return { loader, batches: () => loader.epoch(0) }
}
