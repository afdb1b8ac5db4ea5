/**
 * The import wizard's route, for the contacts component's route list (before `:id`, which would
 * read "import" as a contact id): `routes: [..., contactsImportRoute, { path: ':id', … }]`.
 * Link to it by name: `{ name: 'contacts-import' }` (/contacts/import).
 */
import type { RouteRecordRaw } from 'vue-router'
import './messages'

export const CONTACTS_IMPORT_ROUTE = 'contacts-import'

export const contactsImportRoute: RouteRecordRaw = {
  path: 'import',
  name: CONTACTS_IMPORT_ROUTE,
  component: () => import('./ImportWizardPage.vue'),
  meta: { title: 'mod.contactsImport.title', permissions: ['contacts.contact:create'] },
}
