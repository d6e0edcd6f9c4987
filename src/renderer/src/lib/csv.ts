/** Compare's CSV file name. The CSV itself is src/shared/compare.ts comparisonCsv, the one writer the CLI uses too. */

/** A file name from an experiment name: "DAFT vs FT (cifar)" -> "daft-vs-ft-cifar.csv". */
export function csvFileName(experiment: string): string {
  const base = experiment.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return `${base || 'comparison'}.csv`
}
