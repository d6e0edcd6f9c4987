/**
 * The URL of each view and of the selections that matter (pure: no router, no DOM). The router (../router.ts)
 * runs in hash mode, so these paths follow the `#`, in Electron's file:// page and in serve mode alike:
 *
 *   /projects  /new-experiment
 *   /datasets[/:datasetId]            /models[/:modelId]
 *   /runs[/:runId][?experiment=E&method=M]           (the run shown; the queue's filters)
 *   /compare[/:experimentId]
 *   /distortion[/:experimentId][?runs=1,2,3]         (no `runs`: the default ticks, which follow the runs)
 *   /galleries[/:experimentId][?run=A&beside=B&set=S&k=K]   (no run/beside, no set: the defaults)
 *
 * placeFromLocation(locationOfPlace(p)) === p for every place; anything unknown reads as the Projects view.
 */

export type ViewName = 'projects' | 'datasets' | 'models' | 'new-experiment' | 'runs' | 'compare' | 'distortion' | 'galleries'

export const VIEW_NAMES: readonly ViewName[] = ['projects', 'datasets', 'models', 'new-experiment', 'runs', 'compare', 'distortion', 'galleries']

export type Place =
  | { view: 'projects' }
  | { view: 'new-experiment' }
  | { view: 'datasets'; datasetId: number | null }
  | { view: 'models'; modelId: number | null }
  | { view: 'runs'; runId: number | null; experimentId: number | null; method: string | null }
  | { view: 'compare'; experimentId: number | null }
  /** runs: the ticked runs; null = the view's defaults */
  | { view: 'distortion'; experimentId: number | null; runs: number[] | null }
  /** run/beside: both null = the default pair; set null = the most shifted set; k null = 4 */
  | { view: 'galleries'; experimentId: number | null; run: number | null; beside: number | null; set: string | null; k: number | null }

export type PlaceOf<V extends ViewName> = Extract<Place, { view: V }>

/** A route location as the router takes and gives it (query values may repeat or be null). */
export type QueryValue = string | null | undefined | (string | null)[]
export interface RouteLocation {
  path: string
  query: Record<string, string>
}

/** The place of a view with nothing selected. */
export function emptyPlace(view: ViewName): Place {
  switch (view) {
    case 'projects':
    case 'new-experiment':
      return { view }
    case 'datasets':
      return { view, datasetId: null }
    case 'models':
      return { view, modelId: null }
    case 'runs':
      return { view, runId: null, experimentId: null, method: null }
    case 'compare':
      return { view, experimentId: null }
    case 'distortion':
      return { view, experimentId: null, runs: null }
    case 'galleries':
      return { view, experimentId: null, run: null, beside: null, set: null, k: null }
  }
}

const first = (v: QueryValue): string | null => (Array.isArray(v) ? (v.find((x) => typeof x === 'string') ?? null) : (v ?? null))

/** A database id: a positive decimal integer, else null. */
export function parseId(s: string | null | undefined): number | null {
  if (s === null || s === undefined || !/^\d{1,15}$/.test(s)) return null
  const n = Number(s)
  return n > 0 ? n : null
}

/** `1,2,3` -> [1, 2, 3] (invalid items dropped, duplicates once); `` -> []; absent -> null */
export function parseIdList(s: string | null): number[] | null {
  if (s === null) return null
  const ids: number[] = []
  for (const part of s.split(',')) {
    const id = parseId(part.trim())
    if (id !== null && !ids.includes(id)) ids.push(id)
  }
  return ids
}

/** Reads a route (the path after `#`, and its query) as a place. */
export function placeFromLocation(path: string, query: Record<string, QueryValue> = {}): Place {
  const segs = path.split('/').filter((s) => s !== '').map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  })
  const view = (VIEW_NAMES as readonly string[]).includes(segs[0] ?? '') ? (segs[0] as ViewName) : 'projects'
  const id = parseId(segs[1])
  const q = (k: string): string | null => first(query[k])
  switch (view) {
    case 'projects':
    case 'new-experiment':
      return { view }
    case 'datasets':
      return { view, datasetId: id }
    case 'models':
      return { view, modelId: id }
    case 'runs':
      return { view, runId: id, experimentId: parseId(q('experiment')), method: q('method') || null }
    case 'compare':
      return { view, experimentId: id }
    case 'distortion':
      return { view, experimentId: id, runs: parseIdList(q('runs')) }
    case 'galleries': {
      const k = parseId(q('k'))
      return { view, experimentId: id, run: parseId(q('run')), beside: parseId(q('beside')), set: q('set') || null, k: k !== null && k <= 64 ? k : null }
    }
  }
}

/** The route of a place (what placeFromLocation reads back as the same place). */
export function locationOfPlace(p: Place): RouteLocation {
  const query: Record<string, string> = {}
  const withId = (id: number | null): string => `/${p.view}${id !== null ? `/${id}` : ''}`
  switch (p.view) {
    case 'projects':
    case 'new-experiment':
      return { path: `/${p.view}`, query }
    case 'datasets':
      return { path: withId(p.datasetId), query }
    case 'models':
      return { path: withId(p.modelId), query }
    case 'runs':
      if (p.experimentId !== null) query.experiment = String(p.experimentId)
      if (p.method) query.method = p.method
      return { path: withId(p.runId), query }
    case 'compare':
      return { path: withId(p.experimentId), query }
    case 'distortion':
      if (p.runs !== null) query.runs = p.runs.join(',')
      return { path: withId(p.experimentId), query }
    case 'galleries':
      if (p.run !== null) query.run = String(p.run)
      if (p.beside !== null) query.beside = String(p.beside)
      if (p.set) query.set = p.set
      if (p.k !== null) query.k = String(p.k)
      return { path: withId(p.experimentId), query }
  }
}

/** The URL text of a place (for comparisons and links): `/galleries/3?run=4&beside=10`. */
export function placeKey(p: Place): string {
  const { path, query } = locationOfPlace(p)
  const qs = Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',')}`).join('&')
  return qs ? `${path}?${qs}` : path
}

/** The same place with some fields changed (the view stays). */
export function withPlace<V extends ViewName>(p: PlaceOf<V>, patch: Partial<Omit<PlaceOf<V>, 'view'>>): PlaceOf<V> {
  return { ...p, ...patch, view: p.view }
}
