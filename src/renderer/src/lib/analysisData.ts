/**
 * Shapes the Distortion and Galleries views draw, until the analysis operations join the API contract
 * (`src/shared/api.ts`). The views also accept these as JSON files; the parsers name every problem.
 */

/** Relative change per layer ||theta_ft - theta_pre|| / ||theta_pre||, per quantity (weight, bias, running_mean, running_var) and method. */
export interface RelChangeData {
  layers: { name: string; stage: string }[]
  quantities: Record<string, { method: string; values: number[] }[]>
}

/** Feature similarities (e.g. cosine between pretrained and fine-tuned features), one set per method or dataset. */
export interface SimilarityData {
  sets: { name: string; values: number[] }[]
  range?: [number, number]
}

export interface GalleryTile {
  /** absolute image path under a registered dataset root (served by images.get) */
  path: string
  similarity: number
  label?: string
}

/** The images whose features changed most (lowest similarity) and least (highest). */
export interface GalleryData {
  lowest: GalleryTile[]
  highest: GalleryTile[]
}

export interface AnalysisFile {
  relChange?: RelChangeData
  similarity?: SimilarityData
  gallery?: GalleryData
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNumArr = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number')

function checkRelChange(v: unknown, errors: string[]): RelChangeData | undefined {
  if (!isObj(v) || !Array.isArray(v.layers) || !isObj(v.quantities)) {
    errors.push('relChange: expected { layers: [{ name, stage }], quantities: { name: [{ method, values }] } }')
    return undefined
  }
  const n = v.layers.length
  v.layers.forEach((l, i) => {
    if (!isObj(l) || typeof l.name !== 'string' || typeof l.stage !== 'string') errors.push(`relChange.layers[${i}]: expected { name, stage } strings`)
  })
  for (const [q, series] of Object.entries(v.quantities)) {
    if (!Array.isArray(series)) {
      errors.push(`relChange.quantities.${q}: expected a list of { method, values }`)
      continue
    }
    series.forEach((s, i) => {
      if (!isObj(s) || typeof s.method !== 'string' || !isNumArr(s.values)) errors.push(`relChange.quantities.${q}[${i}]: expected { method: string, values: number[] }`)
      else if (s.values.length !== n) errors.push(`relChange.quantities.${q}[${i}] (${s.method}): ${s.values.length} values for ${n} layers`)
    })
  }
  return v as unknown as RelChangeData
}

function checkSimilarity(v: unknown, errors: string[]): SimilarityData | undefined {
  if (!isObj(v) || !Array.isArray(v.sets)) {
    errors.push('similarity: expected { sets: [{ name, values }] }')
    return undefined
  }
  v.sets.forEach((s, i) => {
    if (!isObj(s) || typeof s.name !== 'string' || !isNumArr(s.values)) errors.push(`similarity.sets[${i}]: expected { name: string, values: number[] }`)
  })
  if (v.range !== undefined && !(isNumArr(v.range) && v.range.length === 2 && v.range[0] < v.range[1])) errors.push('similarity.range: expected [lo, hi] with lo < hi')
  return v as unknown as SimilarityData
}

function checkGallery(v: unknown, errors: string[]): GalleryData | undefined {
  if (!isObj(v)) {
    errors.push('gallery: expected { lowest: [...], highest: [...] }')
    return undefined
  }
  for (const k of ['lowest', 'highest'] as const) {
    const tiles = v[k]
    if (!Array.isArray(tiles)) {
      errors.push(`gallery.${k}: expected a list of { path, similarity }`)
      continue
    }
    tiles.forEach((t, i) => {
      if (!isObj(t) || typeof t.path !== 'string' || typeof t.similarity !== 'number') errors.push(`gallery.${k}[${i}]: expected { path: string, similarity: number }`)
    })
  }
  return v as unknown as GalleryData
}

/** Parses an analysis JSON text; `source` (the file name) prefixes every error. */
export function parseAnalysisFile(text: string, source: string): { data?: AnalysisFile; errors: string[] } {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    return { errors: [`${source}: not valid JSON (${(e as Error).message})`] }
  }
  if (!isObj(raw)) return { errors: [`${source}: expected an object with relChange, similarity and/or gallery`] }
  const errors: string[] = []
  const data: AnalysisFile = {}
  if (raw.relChange !== undefined) data.relChange = checkRelChange(raw.relChange, errors)
  if (raw.similarity !== undefined) data.similarity = checkSimilarity(raw.similarity, errors)
  if (raw.gallery !== undefined) data.gallery = checkGallery(raw.gallery, errors)
  if (!errors.length && !data.relChange && !data.similarity && !data.gallery) errors.push('has none of relChange, similarity, gallery')
  return errors.length ? { errors: errors.map((e) => `${source}: ${e}`) } : { data, errors }
}
