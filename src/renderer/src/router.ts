import type { Pinia } from 'pinia'
import { createRouter, createWebHashHistory, type Router, type RouteRecordRaw } from 'vue-router'
import ProjectsView from './views/ProjectsView.vue'
import DatasetsView from './views/DatasetsView.vue'
import ModelsView from './views/ModelsView.vue'
import NewExperimentView from './views/NewExperimentView.vue'
import RunsView from './views/RunsView.vue'
import CompareView from './views/CompareView.vue'
import DistortionView from './views/DistortionView.vue'
import GalleriesView from './views/GalleriesView.vue'
import { placeFromLocation } from './lib/routes'
import { useUiStore } from './stores/ui'

/** One route per view, the selection as an optional id and a query (lib/routes.ts reads and writes them). */
const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/projects' },
  { path: '/projects', component: ProjectsView },
  { path: '/datasets/:id?', component: DatasetsView },
  { path: '/models/:id?', component: ModelsView },
  { path: '/new-experiment', component: NewExperimentView },
  { path: '/runs/:id?', component: RunsView },
  { path: '/compare/:id?', component: CompareView },
  { path: '/distortion/:id?', component: DistortionView },
  { path: '/galleries/:id?', component: GalleriesView },
  { path: '/:unknown(.*)*', redirect: '/projects' },
]

/**
 * The router, in hash mode: the place lives after the `#`, so Electron's file:// page and serve mode behave
 * the same and the server serves one page. Create it after the serve-mode access token has left the address
 * bar (main.ts calls api() first): the history keeps whatever precedes the `#`.
 */
export function createAppRouter(pinia: Pinia): Router {
  const router = createRouter({ history: createWebHashHistory(), routes })
  const ui = useUiStore(pinia)
  ui.attach(router)
  router.afterEach((to, _from, failure) => {
    if (!failure) ui.setPlace(placeFromLocation(to.path, to.query))
  })
  return router
}
