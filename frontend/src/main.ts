import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { i18n } from './core/i18n'
import { router } from './core/router'
import { installGuards } from './core/router/guards'
import './core/theme'
import './styles/main.css'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
installGuards(router)
app.use(router)
app.mount('#app')
