import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { emptyPlace, locationOfPlace, placeKey, withPlace, type Place, type PlaceOf, type RouteLocation, type ViewName } from '../lib/routes'

export type { ViewName } from '../lib/routes'

export const VIEWS: { name: ViewName; label: string }[] = [
  { name: 'projects', label: 'Projects' },
  { name: 'datasets', label: 'Datasets' },
  { name: 'models', label: 'Models' },
  { name: 'new-experiment', label: 'New experiment' },
  { name: 'runs', label: 'Runs' },
  { name: 'compare', label: 'Compare' },
  { name: 'distortion', label: 'Distortion' },
  { name: 'galleries', label: 'Galleries' },
]

/** What the ui store needs of the router (../router.ts attaches it; without one, places change in memory only). */
export interface Navigator {
  push(to: RouteLocation): Promise<unknown>
  replace(to: RouteLocation): Promise<unknown>
}

/**
 * Navigation and cross-view selections. The URL is the source of truth: the router reports every route it
 * lands on (setPlace, from router.afterEach), the views read their selection from `place` and change it with
 * open / update, which push or replace a route (a new place the back button returns from, or a refinement of
 * this one).
 */
export const useUiStore = defineStore('ui', () => {
  const place = ref<Place>({ view: 'projects' })
  const view = computed<ViewName>(() => place.value.view)
  /** the last place of each view: its navigation button returns there */
  const last = new Map<ViewName, Place>()
  let nav: Navigator | null = null

  function attach(n: Navigator): void {
    nav = n
  }

  /** The router landed on a place (also: a place opened before the navigation completes). */
  function setPlace(p: Place): void {
    last.set(p.view, p)
    if (placeKey(p) !== placeKey(place.value)) place.value = p
  }

  function open(p: Place, how: 'push' | 'replace' = 'push'): void {
    if (placeKey(p) === placeKey(place.value)) return
    setPlace(p) // at once: a second change before the router settles builds on this one
    if (nav) void nav[how](locationOfPlace(p)).catch((e: unknown) => console.error('navigation failed', e))
  }

  /** Changes the selection of view `v` if it is the view shown (a late change of a view left behind is dropped). */
  function update<V extends ViewName>(v: V, patch: Partial<Omit<PlaceOf<V>, 'view'>>, how: 'push' | 'replace' = 'replace'): void {
    if (place.value.view !== v) return
    open(withPlace(place.value as PlaceOf<V>, patch), how)
  }

  /** The place of view `v` if it is the one shown, else null (for views reading their selection). */
  function placeOf<V extends ViewName>(v: V): PlaceOf<V> | null {
    return place.value.view === v ? (place.value as PlaceOf<V>) : null
  }

  /** A navigation button: the view as it was last left. */
  function go(v: ViewName): void {
    open(last.get(v) ?? emptyPlace(v))
  }

  /** Runs view filtered to one experiment (and optionally one method), showing a run (else its own default). */
  function showRuns(filter: { experimentId: number; method?: string } | null, runId?: number): void {
    open({ view: 'runs', runId: runId ?? null, experimentId: filter?.experimentId ?? null, method: filter?.method ?? null })
  }

  return { place, view, attach, setPlace, open, update, placeOf, go, showRuns }
})
