/** Test data for the task tests. */
import type { Task } from './board'

let n = 0
export function task(over: Partial<Task> = {}): Task {
  n += 1
  return {
    id: over.id ?? `t${n}`,
    title: `Task ${n}`,
    description: '',
    status: 'open',
    priority: 'medium',
    due_date: null,
    assigned_to: null,
    created_by: null,
    linked_contact_id: null,
    linked_entity_type: null,
    linked_entity_id: null,
    subtasks: [],
    position: 0,
    completed_at: null,
    tags: [],
    version: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...over,
  }
}
