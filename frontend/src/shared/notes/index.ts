/** Front end of the shared notes component: Markdown notes, pinned first, linked to contacts. */
import { defineShared } from '@/core/modules/types'
import de from './locales/de'
import en from './locales/en'

export default defineShared({
  slug: 'notes',
  menu: { label: { de: 'Notizen', en: 'Notes' } },
  routes: [
    {
      path: '',
      name: 'notes.list',
      component: () => import('./NotesPage.vue'),
      meta: { title: 'mod.notes.title', permissions: ['notes.note:read'] },
    },
  ],
  messages: { de, en },
})
