/**
 * Front end of the shared contacts component: list (keyset + virtual scrolling), detail, forms,
 * segments, duplicates and the merge wizard, and a dashboard widget. Routes go below /contacts.
 */
import { defineShared } from '@/core/modules/types'
// The import wizard (its own folder, another part of the team) hangs below /contacts/import.
import { contactsImportRoute } from '@/shared/contacts-import/routes'
import de from './locales/de'
import en from './locales/en'

const READ = ['contacts.contact:read']

export default defineShared({
  slug: 'contacts',
  menu: { label: { de: 'Kontakte', en: 'Contacts' } },
  routes: [
    { path: '', name: 'contacts.list', component: () => import('./ContactsListPage.vue'), meta: { title: 'mod.contacts.title', permissions: READ } },
    {
      path: 'new',
      name: 'contacts.new',
      component: () => import('./ContactFormPage.vue'),
      meta: { title: 'mod.contacts.form.newTitle', permissions: ['contacts.contact:create'] },
    },
    contactsImportRoute,
    {
      path: 'duplicates',
      name: 'contacts.duplicates',
      component: () => import('./DuplicatesPage.vue'),
      meta: { title: 'mod.contacts.dup.title', permissions: READ },
    },
    {
      path: 'segments/new',
      name: 'contacts.segment-new',
      component: () => import('./SegmentEditorPage.vue'),
      meta: { title: 'mod.contacts.newSegment', permissions: READ },
    },
    {
      path: 'segments/:segmentId',
      name: 'contacts.segment-edit',
      component: () => import('./SegmentEditorPage.vue'),
      props: true,
      meta: { title: 'mod.contacts.editSegment', permissions: READ },
    },
    {
      path: 'merge/:id/:otherId',
      name: 'contacts.merge',
      component: () => import('./MergeWizardPage.vue'),
      props: true,
      meta: { title: 'mod.contacts.merge.title', permissions: ['contacts.contact:update'] },
    },
    {
      path: ':id',
      name: 'contacts.detail',
      component: () => import('./ContactDetailPage.vue'),
      props: true,
      meta: { title: 'mod.contacts.title', permissions: READ },
    },
    {
      path: ':id/edit',
      name: 'contacts.edit',
      component: () => import('./ContactFormPage.vue'),
      props: true,
      meta: { title: 'mod.contacts.detail.edit', permissions: ['contacts.contact:update'] },
    },
  ],
  widgets: [
    {
      id: 'contacts.overview',
      title: { de: 'Kontakte', en: 'Contacts' },
      description: { de: 'Anzahl und zuletzt angelegte Kontakte', en: 'Count and latest contacts' },
      component: () => import('./ContactsWidget.vue'),
      size: 1,
      permissions: READ,
    },
  ],
  messages: { de, en },
})
