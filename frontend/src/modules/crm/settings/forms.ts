/**
 * Web forms as the builder sees them. The server's form has the standard lead fields (always in the
 * embed snippet, e-mail required) plus `extra_fields`: lower-case keys stored in the lead's `data`
 * (scoring rules can use them as `data.<key>`). This file lists a form's fields in the order the
 * embed snippet shows them, turns a label someone types into a key the server accepts, checks
 * extra keys like the server does, and builds the embed code and the bodies to send.
 */
import type { LeadForm, LeadFormCreate, LeadFormUpdate } from './api'

/** The standard fields, in the order of the server's embed snippet (`leads_api.STANDARD_FIELDS`). */
export const STANDARD_FIELDS = ['first_name', 'last_name', 'company_name', 'email', 'phone', 'region', 'message'] as const
/** The honeypot field name: never a form field. */
export const HONEYPOT = 'website'
export const MAX_EXTRA = 20

export interface FormField {
  key: string
  /** true: a standard lead field (label from i18n); false: an extra field (label from the key). */
  standard: boolean
  input: 'text' | 'email' | 'tel' | 'textarea'
  required: boolean
}

export interface FormDraft {
  name: string
  is_active: boolean
  extra_fields: string[]
  tag_ids: string[]
  redirect_url: string
  success_message: string
}

export type FormErrors = Partial<Record<'name' | 'extra_fields' | 'redirect_url' | 'success_message', string>>

function inputOf(key: string): FormField['input'] {
  if (key === 'email') return 'email'
  if (key === 'phone') return 'tel'
  if (key === 'message') return 'textarea'
  return 'text'
}

/** Every field of a form, standard ones first, as the public form (and the preview) shows them. */
export function formFields(extra: readonly string[]): FormField[] {
  return [
    ...STANDARD_FIELDS.map((key) => ({ key, standard: true, input: inputOf(key), required: key === 'email' })),
    ...extra.map((key) => ({ key, standard: false, input: 'text' as const, required: false })),
  ]
}

/** The label the server's snippet gives an extra field ("anzahl_mitarbeiter" → "Anzahl mitarbeiter"). */
export function extraLabel(key: string): string {
  const text = key.replace(/_/g, ' ')
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** A key from what someone typed: "Anzahl Mitarbeiter" → "anzahl_mitarbeiter", "Größe" → "groesse". */
export function keyFromLabel(label: string): string {
  const map: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss' }
  const key = label
    .trim()
    .toLowerCase()
    .replace(/[äöüß]/g, (c) => map[c] ?? c)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
  const prefixed = /^[0-9]/.test(key) ? `f_${key}` : key
  return prefixed.slice(0, 60)
}

/** Why `key` cannot be an extra field (i18n key under mod.crm.settings.forms.errors), or null. */
export function extraKeyProblem(key: string, existing: readonly string[]): string | null {
  if (!key) return 'keyEmpty'
  if (!/^[a-z_][a-z0-9_]*$/.test(key) || !/[a-z]/.test(key)) return 'keyInvalid'
  if ((STANDARD_FIELDS as readonly string[]).includes(key) || key === HONEYPOT) return 'keyReserved'
  if (existing.includes(key)) return 'keyDuplicate'
  if (existing.length >= MAX_EXTRA) return 'tooMany'
  return null
}

export function validateForm(draft: FormDraft): FormErrors {
  const errors: FormErrors = {}
  if (!draft.name.trim()) errors.name = 'nameRequired'
  else if (draft.name.length > 200) errors.name = 'nameTooLong'
  const url = draft.redirect_url.trim()
  if (url && (!/^https?:\/\/\S+$/.test(url) || url.length > 1000)) errors.redirect_url = 'url'
  if (draft.success_message.length > 500) errors.success_message = 'tooLong'
  if (draft.extra_fields.length > MAX_EXTRA) errors.extra_fields = 'tooMany'
  return errors
}

export function emptyForm(successMessage: string): FormDraft {
  return { name: '', is_active: true, extra_fields: [], tag_ids: [], redirect_url: '', success_message: successMessage }
}

export function draftOf(form: LeadForm): FormDraft {
  return {
    name: form.name,
    is_active: form.is_active,
    extra_fields: [...form.extra_fields],
    tag_ids: [...form.tag_ids],
    redirect_url: form.redirect_url ?? '',
    success_message: form.success_message,
  }
}

export function createBody(draft: FormDraft): LeadFormCreate {
  return {
    name: draft.name.trim(),
    is_active: draft.is_active,
    extra_fields: [...draft.extra_fields],
    tag_ids: [...draft.tag_ids],
    redirect_url: draft.redirect_url.trim() || null,
    success_message: draft.success_message,
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Only what changed (version added by the caller). */
export function updateBody(form: LeadForm, draft: FormDraft): Omit<LeadFormUpdate, 'version'> {
  const next = createBody(draft)
  const body: Omit<LeadFormUpdate, 'version'> = {}
  if (next.name !== form.name) body.name = next.name
  if (next.is_active !== form.is_active) body.is_active = next.is_active
  if (!sameList(next.extra_fields ?? [], form.extra_fields)) body.extra_fields = next.extra_fields
  if (!sameList([...(next.tag_ids ?? [])].sort(), [...form.tag_ids].sort())) body.tag_ids = next.tag_ids
  if ((next.redirect_url ?? null) !== (form.redirect_url ?? null)) body.redirect_url = next.redirect_url
  if (next.success_message !== form.success_message) body.success_message = next.success_message
  return body
}

/** An absolute URL of a server path for the page's own host (the company's address). */
export function absoluteUrl(path: string, origin: string): string {
  return new URL(path, origin).toString()
}

/**
 * A self-contained snippet when the server's is not at hand (inactive form, offline): the same
 * fields and honeypot as `GET …/embed`, posting to the public submit URL.
 */
export function fallbackEmbed(submitUrl: string, fields: FormField[], label: (f: FormField) => string, submit: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  const rows = fields.map((f) => {
    const control =
      f.input === 'textarea'
        ? `<textarea name="${esc(f.key)}" rows="4"></textarea>`
        : `<input type="${f.input}" name="${esc(f.key)}"${f.required ? ' required' : ''}>`
    return `  <label class="xynap-field">${esc(label(f))}<br>${control}</label>`
  })
  return [
    `<form class="xynap-lead-form" method="post" action="${esc(submitUrl)}" accept-charset="utf-8">`,
    ...rows,
    `  <div aria-hidden="true" style="position:absolute;left:-10000px"><input type="text" name="${HONEYPOT}" tabindex="-1" autocomplete="off"></div>`,
    `  <button type="submit">${esc(submit)}</button>`,
    '</form>',
    '',
  ].join('\n')
}
