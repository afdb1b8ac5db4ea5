import { describe, expect, it } from 'vitest'
import type { Stage } from './api'
import { createBody, dropStage, moveItem, moveStage, ordered, sameOrder, starterStages, updateBody, validateStage } from './stages'

const stage = (id: string, position: number, extra: Partial<Stage> = {}): Stage => ({
  id,
  pipeline_id: 'p',
  name: id.toUpperCase(),
  color: '#6366f1',
  probability: 10,
  rotting_days: null,
  position,
  ...extra,
})

describe('stage order', () => {
  it('moves an item without touching the input', () => {
    const list = ['a', 'b', 'c', 'd']
    expect(moveItem(list, 0, 2)).toEqual(['b', 'c', 'a', 'd'])
    expect(moveItem(list, 3, 0)).toEqual(['d', 'a', 'b', 'c'])
    expect(moveItem(list, 1, 99)).toEqual(['a', 'c', 'd', 'b'])
    expect(list).toEqual(['a', 'b', 'c', 'd'])
  })

  it('moves by one place with the keyboard buttons, not past either end', () => {
    const ids = ['a', 'b', 'c']
    expect(moveStage(ids, 'b', -1)).toEqual(['b', 'a', 'c'])
    expect(moveStage(ids, 'b', 1)).toEqual(['a', 'c', 'b'])
    expect(moveStage(ids, 'a', -1)).toBeNull()
    expect(moveStage(ids, 'c', 1)).toBeNull()
    expect(moveStage(ids, 'x', 1)).toBeNull()
  })

  it('puts a dropped stage at the place of the row it was dropped on', () => {
    const ids = ['a', 'b', 'c', 'd']
    expect(dropStage(ids, 'd', 'b')).toEqual(['a', 'd', 'b', 'c'])
    expect(dropStage(ids, 'a', 'c')).toEqual(['b', 'c', 'a', 'd'])
    expect(dropStage(ids, 'a', 'a')).toBeNull()
    expect(dropStage(ids, 'a', 'zz')).toBeNull()
  })

  it('sorts stages by position and compares orders', () => {
    expect(ordered([stage('b', 1), stage('a', 0), stage('c', 2)]).map((s) => s.id)).toEqual(['a', 'b', 'c'])
    expect(sameOrder(['a', 'b'], ['a', 'b'])).toBe(true)
    expect(sameOrder(['a', 'b'], ['b', 'a'])).toBe(false)
    expect(sameOrder(['a'], ['a', 'b'])).toBe(false)
  })
})

describe('stage drafts', () => {
  it('checks what the server checks', () => {
    expect(validateStage({ name: 'Angebot', color: '#6366f1', probability: 50, rotting_days: '' })).toEqual({})
    expect(validateStage({ name: ' ', color: 'red', probability: 101, rotting_days: 0 })).toEqual({
      name: 'nameRequired',
      color: 'color',
      probability: 'probability',
      rotting_days: 'rotting',
    })
    expect(validateStage({ name: 'x', color: '#000000', probability: '12.5', rotting_days: '3651' })).toMatchObject({
      probability: 'probability',
      rotting_days: 'rotting',
    })
    expect(validateStage({ name: 'x', color: '#000000', probability: '', rotting_days: null }).probability).toBe('probability')
  })

  it('sends numbers, null for "never rotting", and only what changed', () => {
    expect(createBody({ name: ' Lead ', color: '#94a3b8', probability: '10', rotting_days: '' })).toEqual({
      name: 'Lead',
      color: '#94a3b8',
      probability: 10,
      rotting_days: null,
    })
    const s = stage('a', 0, { name: 'Lead', probability: 10, rotting_days: 14 })
    expect(updateBody(s, { name: 'Lead', color: s.color, probability: 10, rotting_days: 14 })).toEqual({})
    expect(updateBody(s, { name: 'Lead neu', color: s.color, probability: '20', rotting_days: '' })).toEqual({
      name: 'Lead neu',
      probability: 20,
      rotting_days: null,
    })
  })

  it('offers starter stages with rising probabilities', () => {
    const stages = starterStages(['Lead', 'Angebot', 'Abschluss'])
    expect(stages.map((s) => s.name)).toEqual(['Lead', 'Angebot', 'Abschluss'])
    const p = stages.map((s) => Number(s.probability))
    expect(p[0]).toBeLessThan(p[1])
    expect(p[1]).toBeLessThan(p[2])
    expect(p[2]).toBe(100)
    expect(stages.every((s) => Object.keys(validateStage(s)).length === 0)).toBe(true)
  })
})
