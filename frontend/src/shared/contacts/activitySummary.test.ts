import { describe, expect, it } from 'vitest'
import { activitySummary, activitySummaryMessage, SUMMARY_FIELDS } from './activitySummary'
import { contactsI18n } from './i18n.testing'

function summarizer(locale: 'de' | 'en') {
  const { t, te } = contactsI18n(locale)
  return (details: Record<string, unknown> | null, summary = 'gespeichert') => activitySummary({ summary, details }, t, te)
}

describe('activity summaries', () => {
  it('renders task, note and contact events in the user’s language with the payload’s fields', () => {
    const en = summarizer('en')
    const de = summarizer('de')
    const task = { event: 'task.created', title: 'Call back Schmidt', id: 'x' }
    expect(en(task, 'Aufgabe angelegt: Call back Schmidt')).toBe('Task created: Call back Schmidt')
    expect(de(task)).toBe('Aufgabe angelegt: Call back Schmidt')
    expect(en({ event: 'task.completed', title: 'Offer' })).toBe('Task completed: Offer')
    expect(en({ event: 'note.created', excerpt: 'Customer\n\n  is  happy' })).toBe('Note: Customer is happy')
    expect(en({ event: 'note.deleted', excerpt: 'Old' })).toBe('Note deleted: Old')
    expect(en({ event: 'contact.created', id: 'c' })).toBe('Contact created')
    expect(de({ event: 'contact.updated', changed: ['city'] })).toBe('Kontakt geändert')
    expect(en({ event: 'contact.merged', merged_display_name: 'ACME Ltd' })).toBe('Merged with ACME Ltd')
    expect(en({ event: 'contact.tag_added', tag_name: 'VIP' })).toBe('Tag added: VIP')
    expect(en({ event: 'lead.converted', name: 'Eva Ernst' })).toBe('Lead converted: Eva Ernst')
  })

  it('renders the deal events that reach a contact’s timeline', () => {
    const en = summarizer('en')
    const de = summarizer('de')
    expect(en({ event: 'deal.stage_changed', title: 'Website', stage_name: 'Offer' })).toBe('Deal “Website” moved to stage “Offer”')
    expect(de({ event: 'deal.stage_changed', title: 'Website', stage_name: 'Angebot' })).toBe('Deal „Website“ in Phase „Angebot“ verschoben')
    expect(en({ event: 'deal.lost', title: 'Website', reason: 'too expensive' })).toBe('Deal lost: Website (too expensive)')
    // no reason given: no empty brackets
    expect(en({ event: 'deal.lost', title: 'Website', reason: '' })).toBe('Deal lost: Website')
    expect(de({ event: 'deal.lost', title: 'Website' })).toBe('Deal verloren: Website')
    expect(en({ event: 'deal.rotting', title: 'Website', stage_name: 'Offer', days: 30 })).toBe('Deal “Website” is stalling in stage “Offer”')
    expect(en({ event: 'deal.won', title: 'Website' })).toBe('Deal won: Website')
  })

  it('has a message with the same placeholders for every known event in both languages', () => {
    for (const [event, fields] of Object.entries(SUMMARY_FIELDS)) {
      const details: Record<string, string> = { event }
      for (const field of fields) details[field] = `<${field}>`
      for (const locale of ['de', 'en'] as const) {
        const text = summarizer(locale)(details, 'STORED')
        expect(text, `${locale} ${event}`).not.toBe('STORED')
        expect(text, `${locale} ${event}`).not.toMatch(/mod\.|[{}]/)
        for (const field of fields) expect(text, `${locale} ${event}`).toContain(`<${field}>`)
      }
    }
  })

  it('falls back to the stored summary for unknown events, entries without an event and missing fields', () => {
    const en = summarizer('en')
    expect(en({ event: 'invoice.sent', number: 'R-1' }, 'Rechnung R-1 versandt')).toBe('Rechnung R-1 versandt')
    expect(en({ demo: true }, 'Anruf mit Frau Weber')).toBe('Anruf mit Frau Weber')
    expect(en(null, 'Anruf')).toBe('Anruf')
    expect(en({ event: 'task.created' }, 'Aufgabe angelegt: ')).toBe('Aufgabe angelegt: ')
    expect(en({ event: 'task.created', title: { nested: true } }, 'stored')).toBe('stored')
    expect(en({ event: 'toString' }, 'stored')).toBe('stored') // no prototype keys
    expect(en({ event: 'deal.reordered', title: 'X' }, 'stored')).toBe('stored')
  })

  it('passes payload text through as values, never as message syntax', () => {
    const message = activitySummaryMessage({ summary: '', details: { event: 'task.created', title: '{evil} @:x | y' } })
    expect(message).toEqual({ key: 'mod.contacts.activity.summary.task.created', values: { title: '{evil} @:x | y' } })
    expect(summarizer('en')({ event: 'task.created', title: '{evil} @:x | y' })).toBe('Task created: {evil} @:x | y')
  })
})
