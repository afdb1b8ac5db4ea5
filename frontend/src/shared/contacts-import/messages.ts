/**
 * The wizard's texts, merged into vue-i18n under `mod.contactsImport.` when this code loads (the
 * wizard is a route of the contacts component, not a component of its own, so the registry does
 * not merge them).
 */
import { i18n } from '@/core/i18n'
import de from './locales/de'
import en from './locales/en'

let merged = false
export function mergeImportMessages(): void {
  if (merged) return
  merged = true
  i18n.global.mergeLocaleMessage('de', { mod: { contactsImport: de } } as never)
  i18n.global.mergeLocaleMessage('en', { mod: { contactsImport: en } } as never)
}
mergeImportMessages()
