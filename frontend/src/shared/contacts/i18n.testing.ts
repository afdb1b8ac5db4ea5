/** The contacts component's messages in an i18n instance of their own, for unit tests of text helpers. */
import { createI18n } from 'vue-i18n'
import de from './locales/de'
import en from './locales/en'

export function contactsI18n(locale: 'de' | 'en') {
  const i18n = createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'de',
    missingWarn: false,
    fallbackWarn: false,
    messages: { de: { mod: { contacts: de } }, en: { mod: { contacts: en } } },
  })
  return i18n.global
}
