import { describe, expect, it } from 'vitest'
import type { RescoreProgress } from './api'
import { rescorePhase } from './rescore'

const since = Date.parse('2026-11-22T10:00:00Z')
const job = (extra: Partial<RescoreProgress>): RescoreProgress => ({ job_id: 'j', status: 'queued', created_at: '2026-11-22T10:00:00Z', ...extra })

describe('rescoring phase', () => {
  it('waits for a job, follows it, and ignores one that finished before the change', () => {
    expect(rescorePhase(null, since)).toBe('waiting')
    expect(rescorePhase(job({ status: 'queued' }), since)).toBe('waiting')
    expect(rescorePhase(job({ status: 'running', done: 10, total: 100 }), since)).toBe('running')
    expect(rescorePhase(job({ status: 'succeeded', finished_at: '2026-11-22T10:00:02Z' }), since)).toBe('done')
    expect(rescorePhase(job({ status: 'succeeded', finished_at: '2026-11-22T09:00:00Z' }), since)).toBe('waiting')
    expect(rescorePhase(job({ status: 'dead', finished_at: '2026-11-22T10:00:03Z' }), since)).toBe('failed')
  })
})
