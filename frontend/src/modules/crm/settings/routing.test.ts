import { describe, expect, it } from 'vitest'
import type { LeadSettings } from './api'
import { draftOf, newRule, routingMode, validateRouting, writeBody } from './routing'

const settings = (extra: Partial<LeadSettings> = {}): LeadSettings => ({
  score_threshold: 50,
  routing_rules: [{ kind: 'field', field: 'region', value: 'Nord', tag_id: null, user_id: 'u1' }],
  round_robin_user_ids: ['u2', 'u3'],
  fallback_owner_id: 'u4',
  version: 3,
  ...extra,
})

describe('routing settings', () => {
  it('round-trips the stored settings and keeps the threshold', () => {
    const draft = draftOf(settings())
    expect(draft.rules[0]).toEqual({ kind: 'field', field: 'region', value: 'Nord', tag_id: '', user_id: 'u1' })
    expect(writeBody(settings(), draft)).toEqual({
      version: 3,
      score_threshold: 50,
      routing_rules: [{ kind: 'field', field: 'region', value: 'Nord', tag_id: null, user_id: 'u1' }],
      round_robin_user_ids: ['u2', 'u3'],
      fallback_owner_id: 'u4',
    })
  })

  it('sends tag rules without field/value, no pool duplicates, null for no fallback', () => {
    const draft = { rules: [{ ...newRule('tag'), tag_id: 't1', user_id: 'u1' }], pool: ['u2', 'u2'], fallback: '' }
    const body = writeBody(settings(), draft)
    expect(body.routing_rules).toEqual([{ kind: 'tag', field: null, value: null, tag_id: 't1', user_id: 'u1' }])
    expect(body.round_robin_user_ids).toEqual(['u2'])
    expect(body.fallback_owner_id).toBeNull()
  })

  it('names incomplete rules by the server field names', () => {
    expect(validateRouting({ rules: [newRule('field'), newRule('tag')], pool: [], fallback: '' })).toEqual({
      'routing_rules.0.value': 'valueRequired',
      'routing_rules.0.user_id': 'userRequired',
      'routing_rules.1.tag_id': 'tagRequired',
      'routing_rules.1.user_id': 'userRequired',
    })
    expect(validateRouting(draftOf(settings()))).toEqual({})
  })

  it('says which step decides new leads', () => {
    expect(routingMode(draftOf(settings()))).toBe('rules')
    expect(routingMode({ rules: [], pool: ['u'], fallback: '' })).toBe('roundRobin')
    expect(routingMode({ rules: [], pool: [], fallback: 'u' })).toBe('fallback')
    expect(routingMode({ rules: [], pool: [], fallback: '' })).toBe('off')
  })
})
