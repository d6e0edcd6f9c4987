import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter, type Router } from 'vue-router'
import { emptyPlace, locationOfPlace, parseIdList, placeFromLocation, placeKey, VIEW_NAMES, type Place } from '../../src/renderer/src/lib/routes'
import { useUiStore } from '../../src/renderer/src/stores/ui'
import { takeAccessToken } from '../../src/renderer/src/api/http'

describe('route <-> place (lib/routes.ts)', () => {
  const places: Place[] = [
    { view: 'projects' },
    { view: 'new-experiment' },
    { view: 'datasets', datasetId: null },
    { view: 'datasets', datasetId: 7 },
    { view: 'models', modelId: 2 },
    { view: 'runs', runId: 12, experimentId: null, method: null },
    { view: 'runs', runId: null, experimentId: 3, method: 'LP-FT' },
    { view: 'compare', experimentId: 3 },
    { view: 'distortion', experimentId: 3, runs: null },
    { view: 'distortion', experimentId: 3, runs: [1, 2, 3] },
    { view: 'distortion', experimentId: 3, runs: [] },
    { view: 'galleries', experimentId: 3, run: 4, beside: 10, set: 'stroke', k: 4 },
    { view: 'galleries', experimentId: 3, run: 4, beside: null, set: null, k: null },
    { view: 'galleries', experimentId: null, run: null, beside: null, set: null, k: null },
    ...VIEW_NAMES.map(emptyPlace),
  ]

  it('reads back every place it writes', () => {
    for (const p of places) {
      const loc = locationOfPlace(p)
      expect(placeFromLocation(loc.path, loc.query), placeKey(p)).toEqual(p)
    }
  })

  it('writes the URL scheme of the issue', () => {
    expect(placeKey({ view: 'runs', runId: 12, experimentId: null, method: null })).toBe('/runs/12')
    expect(placeKey({ view: 'runs', runId: 12, experimentId: 3, method: 'FT' })).toBe('/runs/12?experiment=3&method=FT')
    expect(placeKey({ view: 'compare', experimentId: 5 })).toBe('/compare/5')
    expect(placeKey({ view: 'distortion', experimentId: 5, runs: [1, 2, 3] })).toBe('/distortion/5?runs=1,2,3')
    expect(placeKey({ view: 'galleries', experimentId: 5, run: 4, beside: 10, set: 'stroke', k: 4 })).toBe('/galleries/5?run=4&beside=10&set=stroke&k=4')
    expect(placeKey({ view: 'datasets', datasetId: 8 })).toBe('/datasets/8')
    expect(placeKey({ view: 'models', modelId: 1 })).toBe('/models/1')
    expect(placeKey({ view: 'new-experiment' })).toBe('/new-experiment')
    // the defaults stay out of the URL
    expect(placeKey(emptyPlace('galleries'))).toBe('/galleries')
    expect(placeKey({ view: 'distortion', experimentId: 5, runs: null })).toBe('/distortion/5')
  })

  it('reads the links a user types or pastes', () => {
    expect(placeFromLocation('/galleries/5', { run: '4', beside: '10', set: 'stroke', k: '4' })).toEqual({ view: 'galleries', experimentId: 5, run: 4, beside: 10, set: 'stroke', k: 4 })
    expect(placeFromLocation('/distortion/5', { runs: '3, 1,x,3' })).toEqual({ view: 'distortion', experimentId: 5, runs: [3, 1] })
    expect(placeFromLocation('/runs/9/', { experiment: ['2', '4'] })).toEqual({ view: 'runs', runId: 9, experimentId: 2, method: null })
    expect(placeFromLocation('/galleries/5', { set: 'a b', k: '1000' })).toMatchObject({ set: 'a b', k: null })
  })

  it('takes anything unknown or malformed as the view with nothing selected', () => {
    expect(placeFromLocation('/')).toEqual({ view: 'projects' })
    expect(placeFromLocation('/nowhere/1')).toEqual({ view: 'projects' })
    expect(placeFromLocation('/runs/abc')).toEqual(emptyPlace('runs'))
    expect(placeFromLocation('/runs/-1')).toEqual(emptyPlace('runs'))
    expect(placeFromLocation('/runs/0')).toEqual(emptyPlace('runs'))
    expect(placeFromLocation('/models/1e3')).toEqual(emptyPlace('models'))
    expect(placeFromLocation('/galleries/2', { run: '', beside: 'x', set: '' })).toEqual({ ...emptyPlace('galleries'), experimentId: 2 })
    expect(parseIdList(null)).toBeNull()
    expect(parseIdList('')).toEqual([])
  })
})

describe('ui store driven by a router (memory history, as router.ts wires the hash one)', () => {
  let router: Router
  let ui: ReturnType<typeof useUiStore>
  const view = { render: () => null }

  beforeEach(async () => {
    setActivePinia(createPinia())
    router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: '/', redirect: '/projects' },
        ...VIEW_NAMES.map((v) => ({ path: `/${v}/:id?`, component: view })),
      ],
    })
    ui = useUiStore()
    ui.attach(router)
    router.afterEach((to, _from, failure) => {
      if (!failure) ui.setPlace(placeFromLocation(to.path, to.query))
    })
    await router.push('/')
  })
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0))

  it('lands on Projects, and a route opened from outside becomes the place', async () => {
    expect(router.currentRoute.value.fullPath).toBe('/projects')
    expect(ui.view).toBe('projects')
    await router.push('/galleries/3?run=4&beside=10&set=stroke')
    expect(ui.place).toEqual({ view: 'galleries', experimentId: 3, run: 4, beside: 10, set: 'stroke', k: null })
  })

  it('pushes new places and replaces refinements; back and forward restore them', async () => {
    ui.showRuns({ experimentId: 2 }, 5)
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/runs/5?experiment=2')
    ui.update('runs', { runId: 6 }, 'push')
    await settle()
    ui.update('runs', { method: 'FT' }) // replace
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/runs/6?experiment=2&method=FT')
    ui.go('compare')
    await settle()
    expect(ui.view).toBe('compare')
    router.back()
    await settle()
    expect(ui.place).toEqual({ view: 'runs', runId: 6, experimentId: 2, method: 'FT' })
    router.back()
    await settle()
    expect(ui.place).toEqual({ view: 'runs', runId: 5, experimentId: 2, method: null })
    router.back()
    await settle()
    expect(ui.view).toBe('projects')
    router.forward()
    await settle()
    expect(ui.place).toMatchObject({ view: 'runs', runId: 5 })
  })

  it('builds quick successive changes on each other, and drops a change for a view no longer shown', async () => {
    ui.go('galleries')
    await settle()
    ui.update('galleries', { experimentId: 3 })
    ui.update('galleries', { set: 'texture' })
    ui.update('galleries', { k: 6 })
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/galleries/3?set=texture&k=6')
    ui.update('distortion', { runs: [1] })
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/galleries/3?set=texture&k=6')
  })

  it('returns each navigation button to the place its view was left at', async () => {
    await router.push('/datasets/4')
    ui.go('models')
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/models')
    ui.go('datasets')
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/datasets/4')
    ui.go('new-experiment')
    await settle()
    expect(ui.place).toEqual({ view: 'new-experiment' })
  })
})

describe('a deep link with the serve-mode token (/?token=...#/route)', () => {
  it('loses the token and keeps the route the router reads next', () => {
    const urls: string[] = []
    const store = new Map<string, string>()
    const token = takeAccessToken({
      location: { href: 'http://127.0.0.1:4000/?token=abc#/galleries/3?run=4&beside=10&set=stroke' },
      history: { state: null, replaceState: (_d, _u, url) => void urls.push(url) },
      sessionStorage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
    })
    expect(token).toBe('abc')
    expect(urls).toEqual(['/#/galleries/3?run=4&beside=10&set=stroke'])
    const hash = urls[0].slice(urls[0].indexOf('#') + 1)
    const [path, qs] = hash.split('?')
    expect(placeFromLocation(path, Object.fromEntries(new URLSearchParams(qs)))).toEqual({ view: 'galleries', experimentId: 3, run: 4, beside: 10, set: 'stroke', k: null })
  })
})
