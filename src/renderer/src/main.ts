import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { api } from './api'
import { createAppRouter } from './router'

// serve mode: take the access token out of the address bar (?token=) before the router reads the location
api()
const pinia = createPinia()
createApp(App).use(pinia).use(createAppRouter(pinia)).mount('#app')
