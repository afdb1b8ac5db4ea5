/**
 * The one-line text of a timeline entry (`/api/activities`) in the user's language.
 *
 * The backend stores a German `summary` (API consumers and the search read it) and, for entries made
 * from an event, the event's name and payload in `details` (`{event: 'task.created', title: …}`).
 * Known events are rendered from `mod.contacts.activity.summary.<family>.<action>` with the payload's
 * fields interpolated; anything else (hand-made entries, events of later modules, an entry whose
 * payload lacks a field the message needs) shows the stored `summary` as it is.
 */

export interface ActivitySummaryLike {
  summary: string
  details?: Record<string, unknown> | null
}

type Translate = (key: string, named: Record<string, unknown>) => string
type HasKey = (key: string) => boolean

const ROOT = 'mod.contacts.activity.summary'

/**
 * The payload fields each known event's message interpolates. An event listed here must have a
 * message in every locale (the unit test checks); an empty list means the message has no fields.
 */
export const SUMMARY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'task.created': ['title'],
  'task.updated': ['title'],
  'task.completed': ['title'],
  'task.deleted': ['title'],
  'note.created': ['excerpt'],
  'note.deleted': ['excerpt'],
  'contact.created': [],
  'contact.updated': [],
  'contact.merged': ['merged_display_name'],
  'contact.tag_added': ['tag_name'],
  'lead.converted': ['name'],
  'deal.created': ['title'],
  'deal.updated': ['title'],
  'deal.stage_changed': ['title', 'stage_name'],
  'deal.won': ['title'],
  'deal.lost': ['title', 'reason'],
  'deal.reopened': ['title'],
  'deal.rotting': ['title', 'stage_name'],
  'deal.deleted': ['title'],
}

/** Fields a message may do without: the event then uses its `<action>_plain` message (a deal lost without reason). */
const OPTIONAL_FIELDS: Readonly<Record<string, string>> = { 'deal.lost': 'reason' }

/** A payload value as one line of text ('' for nothing); objects are not shown. */
function text(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\s+/g, ' ').trim()
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return ''
}

/** The message key and values for an entry, or null when the stored summary is to be shown. */
export function activitySummaryMessage(activity: ActivitySummaryLike): { key: string; values: Record<string, string> } | null {
  const details = activity.details ?? {}
  const event = details.event
  if (typeof event !== 'string' || !Object.prototype.hasOwnProperty.call(SUMMARY_FIELDS, event)) return null
  const values: Record<string, string> = {}
  let key = `${ROOT}.${event}`
  for (const field of SUMMARY_FIELDS[event]) {
    const value = text(details[field])
    if (!value) {
      if (OPTIONAL_FIELDS[event] !== field) return null
      key = `${key}_plain`
      continue
    }
    values[field] = value
  }
  return { key, values }
}

/** The entry's text in the current language (pass vue-i18n's `t` and `te`); the stored summary when unknown. */
export function activitySummary(activity: ActivitySummaryLike, t: Translate, te: HasKey): string {
  const message = activitySummaryMessage(activity)
  if (!message || !te(message.key)) return activity.summary
  return t(message.key, message.values)
}
