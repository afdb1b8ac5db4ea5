/**
 * Saved segments: a filter of nested AND/OR groups whose leaves are `{ field, operator, value }`.
 * The editor works on this tree; `toApi`/`fromApi` translate it to and from the server's JSON
 * (read leniently: `{op, conditions}`, `{and: […]}` / `{or: […]}` and `children`/`rules` are all understood).
 */
import type { FieldDef } from './api'

export type Combinator = 'and' | 'or'

export interface SegmentLeaf {
  kind: 'leaf'
  field: string
  operator: string
  value: unknown
}

export interface SegmentGroup {
  kind: 'group'
  op: Combinator
  conditions: SegmentNode[]
}

export type SegmentNode = SegmentLeaf | SegmentGroup

export type ValueKind = 'text' | 'email' | 'phone' | 'address' | 'number' | 'date' | 'datetime' | 'select' | 'multiselect' | 'checkbox' | 'tag' | 'type' | 'source' | 'user'

export interface FieldOption {
  field: string
  /** i18n key (built-in fields) or the custom field's own label. */
  label: string
  custom: boolean
  kind: ValueKind
  options?: string[]
}

const TEXT_OPS = ['contains', 'eq', 'ne', 'starts_with', 'in', 'is_empty', 'is_not_empty']

/** Operators per value kind, as the server's grammar allows them; the first is the default. */
export const OPERATORS: Record<ValueKind, string[]> = {
  text: TEXT_OPS,
  email: TEXT_OPS.filter((op) => op !== 'in'),
  phone: TEXT_OPS.filter((op) => op !== 'in'),
  address: TEXT_OPS,
  select: ['eq', 'ne', 'in', 'is_empty', 'is_not_empty'],
  number: ['eq', 'ne', 'gt', 'lt', 'between', 'in', 'is_empty', 'is_not_empty'],
  date: ['eq', 'ne', 'gt', 'lt', 'between', 'is_empty', 'is_not_empty'],
  datetime: ['gt', 'lt', 'between'],
  multiselect: ['contains', 'in', 'is_empty', 'is_not_empty'],
  checkbox: ['eq', 'ne', 'is_empty', 'is_not_empty'],
  tag: ['has', 'has_not'],
  type: ['eq', 'ne', 'in'],
  source: ['eq', 'ne', 'in'],
  user: ['eq', 'ne', 'in', 'is_empty', 'is_not_empty'],
}

export const NO_VALUE_OPERATORS = new Set(['is_empty', 'is_not_empty'])
/** Operators whose value is a list: `in` (one or more), `between` ([from, to]). */
export const LIST_OPERATORS = new Set(['in', 'between'])

export const BUILTIN_FIELDS: FieldOption[] = [
  { field: 'display_name', label: 'mod.contacts.col.name', custom: false, kind: 'text' },
  { field: 'first_name', label: 'mod.contacts.form.firstName', custom: false, kind: 'text' },
  { field: 'last_name', label: 'mod.contacts.form.lastName', custom: false, kind: 'text' },
  { field: 'company_name', label: 'mod.contacts.form.companyName', custom: false, kind: 'text' },
  { field: 'type', label: 'mod.contacts.col.type', custom: false, kind: 'type' },
  { field: 'email', label: 'mod.contacts.col.email', custom: false, kind: 'email' },
  { field: 'phone', label: 'mod.contacts.col.phone', custom: false, kind: 'phone' },
  { field: 'city', label: 'mod.contacts.col.city', custom: false, kind: 'address' },
  { field: 'country', label: 'mod.contacts.form.country', custom: false, kind: 'address' },
  { field: 'tag', label: 'mod.contacts.col.tags', custom: false, kind: 'tag' },
  { field: 'owner_id', label: 'mod.contacts.col.owner', custom: false, kind: 'user' },
  { field: 'created_at', label: 'mod.contacts.col.created', custom: false, kind: 'datetime' },
]

export function customFieldOption(def: FieldDef): FieldOption {
  const kind: ValueKind =
    def.type === 'select' ? 'select'
    : def.type === 'number' ? 'number'
    : def.type === 'date' ? 'date'
    : def.type === 'multiselect' ? 'multiselect'
    : def.type === 'checkbox' ? 'checkbox'
    : 'text'
  return { field: `cf.${def.key}`, label: def.label, custom: true, kind, options: def.options }
}

export function fieldOptions(defs: readonly FieldDef[]): FieldOption[] {
  return [...BUILTIN_FIELDS, ...[...defs].sort((a, b) => a.position - b.position).map(customFieldOption)]
}

export function emptyGroup(op: Combinator = 'and'): SegmentGroup {
  return { kind: 'group', op, conditions: [] }
}

export function newLeaf(option: FieldOption = BUILTIN_FIELDS[0]): SegmentLeaf {
  const operator = OPERATORS[option.kind][0]
  return { kind: 'leaf', field: option.field, operator, value: defaultValue(option.kind, operator) }
}

/** Server error paths ("filter.conditions.1.conditions.0.value") → the editor's node path ("1.0"). */
export function nodePathOf(errorField: string): string | null {
  const match = /^filter((?:\.conditions\.\d+)*)/.exec(errorField)
  if (!match) return null
  const parts = [...match[1].matchAll(/\.conditions\.(\d+)/g)].map((m) => m[1])
  return parts.length ? parts.join('.') : 'root'
}

export function defaultValue(kind: ValueKind, operator = ''): unknown {
  if (operator === 'between') return ['', '']
  if (operator === 'in') return []
  if (kind === 'checkbox') return true
  if (kind === 'type') return 'person'
  return ''
}

/** After the operator changed: keep the value when its shape still fits, else start afresh. */
export function valueForOperator(leaf: SegmentLeaf, kind: ValueKind): unknown {
  if (NO_VALUE_OPERATORS.has(leaf.operator)) return null
  const wantsList = LIST_OPERATORS.has(leaf.operator)
  if (wantsList !== Array.isArray(leaf.value)) return defaultValue(kind, leaf.operator)
  if (leaf.operator === 'between' && (!Array.isArray(leaf.value) || leaf.value.length !== 2)) return ['', '']
  return leaf.value
}

/** Problems of a tree as paths ("0.1") → message key; an empty object means it can be saved. */
export function validate(group: SegmentGroup, path = ''): Record<string, string> {
  const problems: Record<string, string> = {}
  if (!group.conditions.length) problems[path || 'root'] = 'mod.contacts.segment.emptyGroup'
  group.conditions.forEach((node, index) => {
    const here = path ? `${path}.${index}` : String(index)
    if (node.kind === 'group') Object.assign(problems, validate(node, here))
    else if (!NO_VALUE_OPERATORS.has(node.operator) && isBlank(node.value)) {
      problems[here] = 'mod.contacts.segment.valueMissing'
    }
  })
  return problems
}

function isBlank(value: unknown): boolean {
  if (value === '' || value === null || value === undefined) return true
  if (Array.isArray(value)) return !value.length || value.some((v) => v === '' || v === null || v === undefined)
  return false
}

/** Count of leaves (for "3 conditions" summaries). */
export function countLeaves(node: SegmentNode): number {
  return node.kind === 'leaf' ? 1 : node.conditions.reduce((sum, child) => sum + countLeaves(child), 0)
}

// --- wire format --------------------------------------------------------------------------------------

export interface ApiLeaf {
  field: string
  operator: string
  value?: unknown
}

export interface ApiGroup {
  [key: string]: unknown
  op: Combinator
  conditions: (ApiGroup | ApiLeaf)[]
}

export function toApi(node: SegmentGroup): ApiGroup
export function toApi(node: SegmentNode): ApiGroup | ApiLeaf
export function toApi(node: SegmentNode): ApiGroup | ApiLeaf {
  if (node.kind === 'group') return { op: node.op, conditions: node.conditions.map((child) => toApi(child)) }
  const leaf: ApiLeaf = { field: node.field, operator: node.operator }
  if (!NO_VALUE_OPERATORS.has(node.operator)) leaf.value = node.value
  return leaf
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value)
}

/** Reads what the server sends (several common spellings of the same grammar). */
export function fromApi(raw: unknown): SegmentGroup {
  const node = readNode(raw)
  if (!node) return emptyGroup()
  return node.kind === 'group' ? node : { kind: 'group', op: 'and', conditions: [node] }
}

function readNode(raw: unknown): SegmentNode | null {
  if (!isRecord(raw)) return null
  for (const op of ['and', 'or'] as const) {
    if (Array.isArray(raw[op])) return { kind: 'group', op, conditions: (raw[op] as unknown[]).map(readNode).filter(isNode) }
  }
  const children = raw.conditions ?? raw.children ?? raw.rules ?? raw.items
  const combinator = raw.op ?? raw.combinator ?? raw.logic ?? raw.type
  if (Array.isArray(children)) {
    const op: Combinator = String(combinator).toLowerCase() === 'or' ? 'or' : 'and'
    return { kind: 'group', op, conditions: children.map(readNode).filter(isNode) }
  }
  if (typeof raw.field === 'string') {
    return { kind: 'leaf', field: raw.field, operator: String(raw.operator ?? raw.op ?? 'eq'), value: raw.value ?? '' }
  }
  return null
}

function isNode(node: SegmentNode | null): node is SegmentNode {
  return node !== null
}
