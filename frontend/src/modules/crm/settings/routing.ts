/**
 * Lead routing as the settings page edits it. The server routes a lead without an owner: the first
 * matching rule (by field = region etc., or by tag = skill), else round robin over the pool, else the
 * fallback owner (`crm/leads.py: route`). This file keeps drafts of the rules, checks them as the
 * server does, and builds the PUT body (the score threshold is kept as it is).
 */
import type { LeadSettings, LeadSettingsWrite, RoutingRule } from './api'

/** Lead fields a "by field" rule can compare (case-insensitive equality), besides data.<key>. */
export const ROUTING_FIELDS = ['region', 'company_name', 'email', 'source'] as const

export interface RoutingRuleDraft {
  kind: 'field' | 'tag'
  field: string
  value: string
  tag_id: string
  user_id: string
}

export interface RoutingDraft {
  rules: RoutingRuleDraft[]
  pool: string[]
  fallback: string
}

export type RoutingErrors = Record<string, string>

export function draftOf(settings: LeadSettings): RoutingDraft {
  return {
    rules: settings.routing_rules.map((r) => ({
      kind: r.kind,
      field: r.field ?? '',
      value: r.value ?? '',
      tag_id: r.tag_id ?? '',
      user_id: r.user_id,
    })),
    pool: [...settings.round_robin_user_ids],
    fallback: settings.fallback_owner_id ?? '',
  }
}

export function newRule(kind: 'field' | 'tag'): RoutingRuleDraft {
  return { kind, field: kind === 'field' ? 'region' : '', value: '', tag_id: '', user_id: '' }
}

/** Complaints keyed like the server's field names (`routing_rules.0.field` …), values are i18n keys. */
export function validateRouting(draft: RoutingDraft): RoutingErrors {
  const errors: RoutingErrors = {}
  draft.rules.forEach((rule, i) => {
    if (rule.kind === 'field') {
      if (!rule.field.trim()) errors[`routing_rules.${i}.field`] = 'fieldRequired'
      if (!rule.value.trim()) errors[`routing_rules.${i}.value`] = 'valueRequired'
    } else if (!rule.tag_id) {
      errors[`routing_rules.${i}.tag_id`] = 'tagRequired'
    }
    if (!rule.user_id) errors[`routing_rules.${i}.user_id`] = 'userRequired'
  })
  return errors
}

export function writeBody(settings: LeadSettings, draft: RoutingDraft): LeadSettingsWrite {
  const rules: RoutingRule[] = draft.rules.map((r) =>
    r.kind === 'field'
      ? { kind: 'field', field: r.field.trim(), value: r.value.trim(), tag_id: null, user_id: r.user_id }
      : { kind: 'tag', field: null, value: null, tag_id: r.tag_id, user_id: r.user_id },
  )
  return {
    version: settings.version,
    score_threshold: settings.score_threshold,
    routing_rules: rules,
    round_robin_user_ids: [...new Set(draft.pool)],
    fallback_owner_id: draft.fallback || null,
  }
}

/** Which step of the routing would decide a new lead (for the summary at the top). */
export function routingMode(draft: RoutingDraft): 'off' | 'rules' | 'roundRobin' | 'fallback' {
  if (draft.rules.length) return 'rules'
  if (draft.pool.length) return 'roundRobin'
  if (draft.fallback) return 'fallback'
  return 'off'
}
