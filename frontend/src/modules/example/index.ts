/** Front end of the example module: an item list and a dashboard widget. */
import { defineModule } from '@/core/modules/types'
import de from './locales/de'
import en from './locales/en'

export default defineModule({
  slug: 'example',
  routes: [
    {
      path: '',
      name: 'example.items',
      component: () => import('./ItemsPage.vue'),
      meta: { title: 'mod.example.title', permissions: ['example.item:read'] },
    },
  ],
  widgets: [
    {
      id: 'example.recent',
      title: { de: 'Neueste Beispiel-Einträge', en: 'Latest example items' },
      component: () => import('./RecentItemsWidget.vue'),
      size: 1,
      permissions: ['example.item:read'],
    },
  ],
  messages: { de, en },
})
