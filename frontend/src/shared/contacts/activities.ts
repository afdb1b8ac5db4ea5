/**
 * Labels of timeline entries (`/api/activities`). The backend stores a coarse `type` (`task`, `note`,
 * `deal`, `call`, `<family>_update`, …) and, for entries made from an event, the event's name in
 * `details.event` (`deal.won`, `contact.merged`, `lead.converted`, …). The label is the translated
 * event when known, else the translated type, else the type made readable — never a raw key.
 * Messages live under `mod.contacts.activity` (`event.<family>.<action>` and `type.<type>`).
 */

export interface ActivityLike {
  type: string
  details?: Record<string, unknown> | null
}

type Translate = (key: string) => string
type HasKey = (key: string) => boolean

const ROOT = 'mod.contacts.activity'
/** Event and type names that can be message paths: lower-case words joined by "." (events) or "_". */
const EVENT_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/
const TYPE_NAME = /^[a-z][a-z0-9_]*$/

/** The message keys to try for an entry, most specific first. */
export function activityLabelKeys(activity: ActivityLike): string[] {
  const keys: string[] = []
  const event = activity.details?.event
  if (typeof event === 'string' && EVENT_NAME.test(event)) keys.push(`${ROOT}.event.${event}`)
  if (TYPE_NAME.test(activity.type)) keys.push(`${ROOT}.type.${activity.type}`)
  return keys
}

/** "contact_update" → "Contact update": a readable stand-in for a type nobody has translated yet. */
export function readableType(type: string): string {
  const words = type.replace(/[._-]+/g, ' ').trim()
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : ''
}

/** The label of an entry in the current language (pass vue-i18n's `t` and `te`). */
export function activityLabel(activity: ActivityLike, t: Translate, te: HasKey): string {
  for (const key of activityLabelKeys(activity)) if (te(key)) return t(key)
  return readableType(activity.type) || t(`${ROOT}.unknown`)
}
