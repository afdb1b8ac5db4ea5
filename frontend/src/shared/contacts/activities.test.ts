import { describe, expect, it } from 'vitest'
import { activityLabel, activityLabelKeys, readableType } from './activities'
import { contactsI18n } from './i18n.testing'

function translator(locale: 'de' | 'en') {
  const { t, te } = contactsI18n(locale)
  return (type: string, event?: unknown) => activityLabel({ type, details: event === undefined ? {} : { event } }, t, te)
}

/** Every event the backend turns into a timeline entry (worklog, contacts, CRM deals and leads). */
const BACKEND_EVENTS = [
  'task.created', 'task.updated', 'task.completed', 'task.deleted', 'note.created',
  'contact.created', 'contact.updated', 'contact.deleted', 'contact.merged', 'contact.tag_added', 'contacts.imported',
  'deal.created', 'deal.updated', 'deal.stage_changed', 'deal.reordered', 'deal.won', 'deal.lost', 'deal.reopened',
  'deal.rotting', 'deal.deleted', 'lead.created', 'lead.updated', 'lead.deleted', 'lead.converted',
  'lead.score_threshold',
]
/** Every `activities.type` it writes: from events, and the demo's hand-made entries. */
const BACKEND_TYPES = ['task', 'note', 'deal', 'lead', 'contact_update', 'lead_update', 'deal_update', 'call', 'email', 'meeting']

describe('activity labels', () => {
  it('translates every event and type the backend emits, in German and English', () => {
    for (const locale of ['de', 'en'] as const) {
      const label = translator(locale)
      for (const event of BACKEND_EVENTS) {
        const text = label('whatever', event)
        expect(text, `${locale} ${event}`).not.toMatch(/[._]|^mod\b|^Whatever$/)
      }
      for (const type of BACKEND_TYPES) expect(label(type), `${locale} ${type}`).not.toMatch(/[._]|^mod\b/)
    }
  })

  it('prefers the event over the coarse type', () => {
    const de = translator('de')
    const en = translator('en')
    expect(de('deal', 'deal.won')).toBe('Deal gewonnen')
    expect(en('deal', 'deal.won')).toBe('Deal won')
    expect(de('deal', 'deal.stage_changed')).toBe('Phase gewechselt')
    expect(en('deal', 'deal.lost')).toBe('Deal lost')
    expect(de('contact_update', 'contact.merged')).toBe('Kontakte zusammengeführt')
    expect(en('lead', 'lead.converted')).toBe('Lead converted')
    expect(de('task', 'task.completed')).toBe('Aufgabe erledigt')
    expect(en('note', 'note.created')).toBe('Note written')
    // demo and hand-made entries have no event: the type is translated
    expect(de('call')).toBe('Anruf')
    expect(en('meeting')).toBe('Meeting')
    expect(de('contact_update')).toBe('Kontakt')
  })

  it('falls back to the type, then to a readable form of it, never to a raw key', () => {
    const de = translator('de')
    const en = translator('en')
    expect(de('deal', 'deal.something_new')).toBe('Deal') // unknown event, known type
    expect(en('ticket_update', 'ticket.replied')).toBe('Ticket update') // both unknown
    expect(de('ticket_update')).toBe('Ticket update')
    expect(de('')).toBe('Aktivität')
    expect(en('')).toBe('Activity')
    // odd values never become message paths
    expect(de('x', 'deal.won.extra')).toBe('X')
    expect(de('Call')).toBe('Call')
    expect(de('note', 42)).toBe('Notiz')
    expect(activityLabelKeys({ type: 'a.b', details: { event: '__proto__.x' } })).toEqual([])
  })

  it('makes unknown types readable', () => {
    expect(readableType('contact_update')).toBe('Contact update')
    expect(readableType('ticket.sla-breach')).toBe('Ticket sla breach')
    expect(readableType('__')).toBe('')
  })
})
