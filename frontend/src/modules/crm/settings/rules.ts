/**
 * Scoring rules as the editor sees them: "condition → ± points". The backend evaluates a rule with
 * `crm/leads.py: matches()`: a lead field or `data.<key>` (a form's own field) compared
 * case-insensitively with equals / contains / exists, or `tag` + `has_tag` with a tag id. This file
 * checks a draft the way the server will, says in one sentence what a rule does, and builds the
 * request bodies (an update sends only what changed; field and operator are fixed once created).
 */
import type { ScoreRule, ScoreRuleCreate, ScoreRuleUpdate } from './api'

export const LEAD_FIELDS = ['first_name', 'last_name', 'company_name', 'email', 'phone', 'region', 'message', 'source'] as const
export type Operator = 'equals' | 'contains' | 'exists' | 'has_tag'
/** Sources a lead can have (`source` equals … covers "submitted a web form"). */
export const SOURCES = ['web_form', 'api', 'manual', 'import'] as const

/** What the editor's first select picks: a lead field, a form field (data.<key>) or a tag. */
export type Subject = (typeof LEAD_FIELDS)[number] | 'data' | 'tag'

export interface RuleDraft {
  name: string
  subject: Subject
  /** The key of a form field when subject is 'data'. */
  dataKey: string
  operator: Operator
  value: string
  points: number | string
  is_active: boolean
}

export type RuleErrors = Partial<Record<'name' | 'field' | 'operator' | 'value' | 'points', string>>

export function operatorsFor(subject: Subject): Operator[] {
  return subject === 'tag' ? ['has_tag'] : ['equals', 'contains', 'exists']
}

export function emptyDraft(): RuleDraft {
  return { name: '', subject: 'company_name', dataKey: '', operator: 'exists', value: '', points: 10, is_active: true }
}

/** The `field` the server stores for a draft. */
export function fieldOf(draft: Pick<RuleDraft, 'subject' | 'dataKey'>): string {
  if (draft.subject === 'data') return `data.${draft.dataKey.trim()}`
  return draft.subject
}

export function draftOf(rule: ScoreRule): RuleDraft {
  const isData = rule.field.startsWith('data.')
  const subject = (isData ? 'data' : rule.field) as Subject
  return {
    name: rule.name,
    subject,
    dataKey: isData ? rule.field.slice(5) : '',
    operator: rule.operator,
    value: rule.value,
    points: rule.points,
    is_active: rule.is_active,
  }
}

function points(value: number | string): number {
  if (typeof value === 'number') return value
  const text = value.trim()
  return text === '' ? NaN : Number(text)
}

/** Complaints as i18n keys under mod.crm.settings.scoring.errors; {} when the server will accept it. */
export function validateRule(draft: RuleDraft): RuleErrors {
  const errors: RuleErrors = {}
  if (!draft.name.trim()) errors.name = 'nameRequired'
  else if (draft.name.trim().length > 200) errors.name = 'nameTooLong'
  if (draft.subject === 'data' && !/^[a-z_][a-z0-9_]*$/.test(draft.dataKey.trim())) errors.field = 'dataKey'
  if (!operatorsFor(draft.subject).includes(draft.operator)) errors.operator = 'operator'
  if (draft.operator === 'has_tag') {
    if (!draft.value) errors.value = 'tagRequired'
  } else if (draft.operator !== 'exists' && !draft.value.trim()) {
    errors.value = 'valueRequired'
  }
  if (draft.value.length > 300) errors.value = 'valueTooLong'
  const p = points(draft.points)
  if (!Number.isInteger(p) || p < -1000 || p > 1000) errors.points = 'points'
  else if (p === 0) errors.points = 'pointsZero'
  return errors
}

export function createBody(draft: RuleDraft): ScoreRuleCreate {
  return {
    name: draft.name.trim(),
    field: fieldOf(draft),
    operator: draft.operator,
    value: draft.operator === 'exists' ? '' : draft.value.trim(),
    points: points(draft.points),
    is_active: draft.is_active,
  }
}

/** What changed against the stored rule (version added by the caller). */
export function updateBody(rule: ScoreRule, draft: RuleDraft): Omit<ScoreRuleUpdate, 'version'> {
  const next = createBody(draft)
  const body: Omit<ScoreRuleUpdate, 'version'> = {}
  if (next.name !== rule.name) body.name = next.name
  if (next.value !== rule.value) body.value = next.value
  if (next.points !== rule.points) body.points = next.points
  if (next.is_active !== rule.is_active) body.is_active = next.is_active
  return body
}

/** True when the rule's field/operator differ from the draft (the server cannot change those: recreate). */
export function needsRecreate(rule: ScoreRule, draft: RuleDraft): boolean {
  return rule.field !== fieldOf(draft) || rule.operator !== draft.operator
}

type Translate = (key: string, params?: Record<string, unknown>) => string

/**
 * One sentence that says what the rule does, e.g. "Leads whose company contains „GmbH“ get 20 points."
 * `tagName` resolves a tag id; `fieldLabel` names a lead field in the user's language.
 */
export function ruleSentence(
  rule: Pick<ScoreRuleCreate, 'field' | 'operator' | 'value' | 'points'>,
  t: Translate,
  tagName: (id: string) => string | null = () => null,
): string {
  const base = 'mod.crm.settings.scoring'
  const pts = Number(rule.points)
  const amount = t(`${base}.sentence.${pts < 0 ? 'lose' : 'get'}`, { n: Math.abs(pts) })
  if (rule.operator === 'has_tag' || rule.field === 'tag') {
    return t(`${base}.sentence.has_tag`, { tag: tagName(rule.value) ?? '?', amount })
  }
  const field = rule.field.startsWith('data.')
    ? t(`${base}.sentence.dataField`, { key: rule.field.slice(5) })
    : t(`${base}.sentence.field`, { name: t(`${base}.fields.${rule.field}`) })
  let value = rule.value
  if (rule.field === 'source' && (SOURCES as readonly string[]).includes(value)) value = t(`${base}.sources.${value}`)
  return t(`${base}.sentence.${rule.operator}`, { field, value, amount })
}
