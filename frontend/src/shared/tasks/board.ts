/**
 * The pure logic of the task screens: board columns, local moves (what the user sees at once,
 * before the server confirms) and client-side filters. No API calls here, so it is easy to test.
 */
import type { components } from '@/core/api/schema'

export type Task = components['schemas']['TaskRead']
export type TaskStatus = Task['status']
export type TaskPriority = Task['priority']
export type TaskTag = components['schemas']['TagRef']

export const STATUSES: readonly TaskStatus[] = ['open', 'in_progress', 'done']
export const PRIORITIES: readonly TaskPriority[] = ['low', 'medium', 'high', 'urgent']

export type Columns = Record<TaskStatus, Task[]>

export function emptyColumns(): Columns {
  return { open: [], in_progress: [], done: [] }
}

/** Group tasks into the board's columns, each ordered by position (then id, as the server does). */
export function toColumns(tasks: readonly Task[]): Columns {
  const columns = emptyColumns()
  for (const task of tasks) columns[task.status].push(task)
  for (const status of STATUSES) {
    columns[status].sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  return columns
}

export interface Move {
  task: Task
  status: TaskStatus
  /** 0-based place in the target column among the other tasks there (what POST …/move expects). */
  position: number
}

/**
 * Put `taskId` into column `status` at `position` (counted without the task itself) and renumber
 * both columns densely. Returns the new columns (the old ones are not changed) and the move to
 * send, or null when nothing changes.
 */
export function moveTask(columns: Columns, taskId: string, status: TaskStatus, position: number): { columns: Columns; move: Move } | null {
  let from: TaskStatus | null = null
  let index = -1
  for (const s of STATUSES) {
    const i = columns[s].findIndex((t) => t.id === taskId)
    if (i >= 0) {
      from = s
      index = i
      break
    }
  }
  if (from === null) return null
  const task = columns[from][index]
  const target = columns[status].filter((t) => t.id !== taskId)
  const at = Math.max(0, Math.min(position, target.length))
  if (from === status && at === index) return null
  const next: Columns = { ...columns }
  next[from] = columns[from].filter((t) => t.id !== taskId).map((t, i) => ({ ...t, position: i }))
  const moved: Task = { ...task, status }
  target.splice(at, 0, moved)
  next[status] = target.map((t, i) => ({ ...t, position: i }))
  return { columns: next, move: { task, status, position: at } }
}

/** Keyboard moves on the board: one column left/right keeps the row as far as possible; up/down swaps. */
export function keyboardTarget(
  columns: Columns,
  taskId: string,
  key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown',
): { status: TaskStatus; position: number } | null {
  for (const [c, status] of STATUSES.entries()) {
    const index = columns[status].findIndex((t) => t.id === taskId)
    if (index < 0) continue
    if (key === 'ArrowUp') return index > 0 ? { status, position: index - 1 } : null
    if (key === 'ArrowDown') return index < columns[status].length - 1 ? { status, position: index + 1 } : null
    const nextColumn = STATUSES[c + (key === 'ArrowRight' ? 1 : -1)]
    if (!nextColumn) return null
    return { status: nextColumn, position: Math.min(index, columns[nextColumn].length) }
  }
  return null
}

/** Replace (or add) one task in the columns, e.g. after the server answered or an event came in. */
export function upsertInColumns(columns: Columns, task: Task): Columns {
  const all = STATUSES.flatMap((s) => columns[s]).filter((t) => t.id !== task.id)
  return toColumns([...all, task])
}

export function removeFromColumns(columns: Columns, taskId: string): Columns {
  return toColumns(STATUSES.flatMap((s) => columns[s]).filter((t) => t.id !== taskId))
}

// --- filters ------------------------------------------------------------------------------------

export type DueFilter = '' | 'overdue' | 'today' | 'week'

export interface TaskFilters {
  status: TaskStatus | ''
  priority: TaskPriority | ''
  /** '' (everyone in my scope), 'me', 'none' or a user id. */
  assignee: string
  due: DueFilter
  contactId: string
  /** A tag id ('' for any). */
  tag: string
  q: string
}

export function emptyFilters(): TaskFilters {
  return { status: '', priority: '', assignee: '', due: '', contactId: '', tag: '', q: '' }
}

export function activeFilterCount(filters: TaskFilters): number {
  return (['status', 'priority', 'assignee', 'due', 'contactId', 'tag', 'q'] as const).filter((k) => filters[k] !== '').length
}

/** YYYY-MM-DD of a local day (due dates are calendar days, not instants). */
export function isoDay(date: Date): string {
  const y = date.getFullYear()
  const m = String(date.getMonth() + 1).padStart(2, '0')
  const d = String(date.getDate()).padStart(2, '0')
  return `${y}-${m}-${d}`
}

export function addDays(date: Date, days: number): Date {
  const copy = new Date(date)
  copy.setDate(copy.getDate() + days)
  return copy
}

/** The due filter as the API's due_after / due_before (inclusive days). */
export function dueRange(due: DueFilter, today: Date = new Date()): { due_after?: string; due_before?: string } {
  if (due === 'overdue') return { due_before: isoDay(addDays(today, -1)) }
  if (due === 'today') return { due_after: isoDay(today), due_before: isoDay(today) }
  if (due === 'week') return { due_after: isoDay(today), due_before: isoDay(addDays(today, 7)) }
  return {}
}

/** The query of GET /api/tasks for these filters. */
export function listQuery(filters: TaskFilters, today: Date = new Date()) {
  return {
    status: filters.status || undefined,
    priority: filters.priority || undefined,
    assignee: filters.assignee || undefined,
    linked_contact_id: filters.contactId || undefined,
    tag: filters.tag || undefined,
    q: filters.q.trim() || undefined,
    ...dueRange(filters.due, today),
  }
}

/**
 * The same filters applied in the browser: the board loads every task it may show (so that a drop
 * position counts the whole column, as the server does) and hides what the filters exclude.
 */
export function matchesFilters(task: Task, filters: TaskFilters, me: string | null, today: Date = new Date()): boolean {
  if (filters.status && task.status !== filters.status) return false
  if (filters.priority && task.priority !== filters.priority) return false
  if (filters.assignee === 'me' && task.assigned_to !== me) return false
  if (filters.assignee === 'none' && task.assigned_to !== null) return false
  if (filters.assignee && !['me', 'none'].includes(filters.assignee) && task.assigned_to !== filters.assignee) return false
  if (filters.contactId && task.linked_contact_id !== filters.contactId) return false
  if (filters.tag && !(task.tags ?? []).some((tag) => tag.id === filters.tag)) return false
  const q = filters.q.trim().toLowerCase()
  if (q && !task.title.toLowerCase().includes(q)) return false
  const range = dueRange(filters.due, today)
  if (range.due_after || range.due_before) {
    if (!task.due_date) return false
    if (range.due_after && task.due_date < range.due_after) return false
    if (range.due_before && task.due_date > range.due_before) return false
  }
  return true
}

/** A due date relative to today: 'overdue' | 'today' | 'soon' (within 3 days) | 'later' | null. */
export function dueState(task: Pick<Task, 'due_date' | 'status'>, today: Date = new Date()): 'overdue' | 'today' | 'soon' | 'later' | null {
  if (!task.due_date || task.status === 'done') return null
  const day = isoDay(today)
  if (task.due_date < day) return 'overdue'
  if (task.due_date === day) return 'today'
  if (task.due_date <= isoDay(addDays(today, 3))) return 'soon'
  return 'later'
}

export function subtaskProgress(task: Pick<Task, 'subtasks'>): { done: number; total: number } {
  return { done: task.subtasks.filter((s) => s.done).length, total: task.subtasks.length }
}

/**
 * The board may hide tasks (filters): a drop at `index` among the shown cards of a column becomes a
 * position among all the column's tasks, as POST …/move counts it (without the moving task).
 */
export function fullPosition(column: readonly Task[], shown: readonly Task[], index: number, movingId: string): number {
  const others = column.filter((t) => t.id !== movingId)
  const visible = shown.filter((t) => t.id !== movingId)
  if (index < visible.length) {
    const at = others.findIndex((t) => t.id === visible[index].id)
    return at >= 0 ? at : others.length
  }
  if (visible.length) {
    const at = others.findIndex((t) => t.id === visible[visible.length - 1].id)
    return at >= 0 ? at + 1 : others.length
  }
  return others.length
}
