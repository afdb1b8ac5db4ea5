/** Front end of the shared tasks component: list, board, detail drawer and the "My tasks" widget. */
import { defineShared } from '@/core/modules/types'
import de from './locales/de'
import en from './locales/en'

export default defineShared({
  slug: 'tasks',
  menu: { label: { de: 'Aufgaben', en: 'Tasks' } },
  routes: [
    {
      path: '',
      name: 'tasks.list',
      component: () => import('./TasksPage.vue'),
      meta: { title: 'mod.tasks.title', permissions: ['tasks.task:read'] },
    },
  ],
  widgets: [
    {
      id: 'tasks.mine',
      title: { de: 'Meine Aufgaben', en: 'My tasks' },
      description: { de: 'Was bald fällig ist', en: 'What is due soon' },
      component: () => import('./MyTasksWidget.vue'),
      size: 1,
      permissions: ['tasks.task:read'],
    },
  ],
  messages: { de, en },
})
