import { describe, expect, it } from 'vitest'
import type { FieldDef } from './api'
import { emptyGroup, fieldOptions, fromApi, newLeaf, nodePathOf, OPERATORS, toApi, validate, valueForOperator, type SegmentGroup } from './segments'

const FIELDS: FieldDef[] = [
  { id: 'f1', entity: 'contact', key: 'umsatz', label: 'Umsatz', type: 'number', options: [], required: false, position: 1, created_at: '' },
  { id: 'f2', entity: 'contact', key: 'branche', label: 'Branche', type: 'select', options: ['IT', 'Handel'], required: false, position: 0, created_at: '' },
]

const TREE: SegmentGroup = {
  kind: 'group',
  op: 'and',
  conditions: [
    { kind: 'leaf', field: 'city', operator: 'eq', value: 'Berlin' },
    {
      kind: 'group',
      op: 'or',
      conditions: [
        { kind: 'leaf', field: 'tag', operator: 'has', value: 't1' },
        { kind: 'leaf', field: 'email', operator: 'is_empty', value: 'ignored' },
      ],
    },
  ],
}

describe('segment grammar', () => {
  it('writes nested groups as {op, conditions} and leaves as {field, operator, value}', () => {
    expect(toApi(TREE)).toEqual({
      op: 'and',
      conditions: [
        { field: 'city', operator: 'eq', value: 'Berlin' },
        { op: 'or', conditions: [{ field: 'tag', operator: 'has', value: 't1' }, { field: 'email', operator: 'is_empty' }] },
      ],
    })
  })

  it('reads back what it wrote, and the {and: [...]} spelling too', () => {
    const back = fromApi(toApi(TREE))
    expect(toApi(back)).toEqual(toApi(TREE))
    expect(fromApi({ or: [{ field: 'type', operator: 'eq', value: 'person' }] })).toEqual({
      kind: 'group',
      op: 'or',
      conditions: [{ kind: 'leaf', field: 'type', operator: 'eq', value: 'person' }],
    })
    expect(fromApi(null)).toEqual(emptyGroup())
    // A single leaf becomes a group of one.
    expect(fromApi({ field: 'city', operator: 'eq', value: 'Köln' }).conditions).toHaveLength(1)
  })

  it('names empty groups and missing values by their path', () => {
    const tree: SegmentGroup = {
      kind: 'group',
      op: 'and',
      conditions: [
        { kind: 'leaf', field: 'city', operator: 'eq', value: '' },
        { kind: 'group', op: 'or', conditions: [] },
        { kind: 'leaf', field: 'created_at', operator: 'between', value: ['2024-01-01', ''] },
        { kind: 'leaf', field: 'email', operator: 'is_not_empty', value: null },
      ],
    }
    expect(validate(tree)).toEqual({ '0': 'mod.contacts.segment.valueMissing', '1': 'mod.contacts.segment.emptyGroup', '2': 'mod.contacts.segment.valueMissing' })
    expect(validate(emptyGroup())).toEqual({ root: 'mod.contacts.segment.emptyGroup' })
    expect(validate(TREE)).toEqual({})
  })

  it('maps the server error paths to editor paths', () => {
    expect(nodePathOf('filter.conditions.1.conditions.0.value')).toBe('1.0')
    expect(nodePathOf('filter.conditions.2.operator')).toBe('2')
    expect(nodePathOf('filter')).toBe('root')
    expect(nodePathOf('name')).toBeNull()
  })

  it('offers built-in and custom fields with the operators their kind allows', () => {
    const options = fieldOptions(FIELDS)
    const custom = options.filter((o) => o.custom)
    expect(custom.map((o) => o.field)).toEqual(['cf.branche', 'cf.umsatz'])
    expect(custom[0]).toMatchObject({ kind: 'select', options: ['IT', 'Handel'] })
    expect(OPERATORS.tag).toEqual(['has', 'has_not'])
    expect(OPERATORS.datetime).not.toContain('eq')
    const leaf = newLeaf(options.find((o) => o.field === 'created_at'))
    expect(leaf).toMatchObject({ operator: 'gt', value: '' })
    leaf.operator = 'between'
    expect(valueForOperator(leaf, 'datetime')).toEqual(['', ''])
    leaf.operator = 'is_empty'
    expect(valueForOperator(leaf, 'datetime')).toBeNull()
  })
})
