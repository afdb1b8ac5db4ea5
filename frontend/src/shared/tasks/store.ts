/**
 * Tasks in the web app: the filtered list (server-side filters, keyset pages), the board (every
 * visible task, ordered by position, filtered in the browser), the people tasks can be assigned
 * to, and live updates from `task.*` events.
 */
import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'
import { useAuthStore } from '@/core/auth/store'
import { onEvent, RESYNC_EVENT, type RealtimeEvent } from '@/core/realtime'
import {
  emptyColumns,
  emptyFilters,
  listQuery,
  matchesFilters,
  moveTask,
  removeFromColumns,
  STATUSES,
  toColumns,
  upsertInColumns,
  type Columns,
  type Task,
  type TaskFilters,
  type TaskStatus,
  type TaskTag,
} from './board'

export type TaskCreate = components['schemas']['TaskCreate']
export type TaskUpdate = Omit<components['schemas']['TaskUpdate'], 'version'>

const PAGE = 50
/** The board loads at most this many tasks per column (pages of 200). */
const BOARD_CAP = 1000

export interface Person {
  id: string
  name: string
}

export const useTasksStore = defineStore('shared.tasks', () => {
  const auth = useAuthStore()
  const filters = reactive<TaskFilters>(emptyFilters())
  const sort = ref<'-created_at' | 'due_date' | '-priority' | 'position'>('-created_at')

  const items = ref<Task[]>([])
  const cursor = ref<string | null>(null)
  const listLoaded = ref(false)

  const columns = ref<Columns>(emptyColumns())
  const boardLoaded = ref(false)
  /** A column was longer than BOARD_CAP: the board shows only the first part. */
  const boardTruncated = ref(false)

  const people = ref<Person[]>([])
  /** The company's tags (shared /api/tags), for pickers and the tag filter. */
  const tags = ref<TaskTag[]>([])

  // --- loading ------------------------------------------------------------------------------------

  let listRequest = 0
  async function loadList(more = false): Promise<void> {
    const request = ++listRequest
    const page = await unwrap(
      api.GET('/api/tasks', {
        params: {
          query: { ...listQuery(filters), sort: sort.value, limit: PAGE, cursor: more ? (cursor.value ?? undefined) : undefined },
        },
      }),
    )
    if (request !== listRequest) return // a newer filter already answered
    items.value = more ? [...items.value, ...page.items.filter((t) => !items.value.some((i) => i.id === t.id))] : page.items
    cursor.value = page.next_cursor ?? null
    listLoaded.value = true
  }

  async function loadColumn(status: TaskStatus): Promise<{ tasks: Task[]; truncated: boolean }> {
    const tasks: Task[] = []
    let next: string | undefined
    do {
      const page = await unwrap(
        api.GET('/api/tasks', { params: { query: { status, sort: 'position', limit: 200, cursor: next } } }),
      )
      tasks.push(...page.items)
      next = page.next_cursor ?? undefined
    } while (next && tasks.length < BOARD_CAP)
    return { tasks, truncated: Boolean(next) }
  }

  let boardRequest = 0
  async function loadBoard(): Promise<void> {
    const request = ++boardRequest
    const loaded = await Promise.all(STATUSES.map(loadColumn))
    if (request !== boardRequest) return
    columns.value = toColumns(loaded.flatMap((c) => c.tasks))
    boardTruncated.value = loaded.some((c) => c.truncated)
    boardLoaded.value = true
  }

  /** Names for assignee pickers: the company's users when the caller may list them, else just "me". */
  async function loadPeople(): Promise<void> {
    const self = auth.me ? [{ id: auth.me.id, name: auth.me.name }] : []
    if (!auth.can('users:read')) {
      people.value = self
      return
    }
    try {
      const page = await unwrap(api.GET('/api/users', { params: { query: { limit: 200 } } }))
      people.value = page.items.filter((u) => u.is_active).map((u) => ({ id: u.id, name: u.name }))
      if (self.length && !people.value.some((p) => p.id === self[0].id)) people.value.unshift(self[0])
    } catch {
      people.value = self
    }
  }

  /** The company's tags; empty when the caller may not read them. */
  async function loadTags(): Promise<void> {
    if (!auth.can('tags.tag:read')) {
      tags.value = []
      return
    }
    try {
      const all = await unwrap(api.GET('/api/tags'))
      tags.value = all.map((tag) => ({ id: tag.id, name: tag.name, color: tag.color }))
    } catch {
      tags.value = []
    }
  }

  function personName(id: string | null): string | null {
    if (!id) return null
    return people.value.find((p) => p.id === id)?.name ?? null
  }

  // --- keeping list and board in step ------------------------------------------------------------

  function remember(task: Task): void {
    const index = items.value.findIndex((t) => t.id === task.id)
    if (index >= 0) items.value.splice(index, 1, task)
    if (boardLoaded.value) columns.value = upsertInColumns(columns.value, task)
  }

  function forget(taskId: string): void {
    items.value = items.value.filter((t) => t.id !== taskId)
    if (boardLoaded.value) columns.value = removeFromColumns(columns.value, taskId)
  }

  function find(taskId: string): Task | undefined {
    return items.value.find((t) => t.id === taskId) ?? STATUSES.flatMap((s) => columns.value[s]).find((t) => t.id === taskId)
  }

  // --- changes ------------------------------------------------------------------------------------

  async function create(body: TaskCreate): Promise<Task> {
    const task = await unwrap(api.POST('/api/tasks', { body }))
    if (listLoaded.value && !items.value.some((t) => t.id === task.id)) items.value = [task, ...items.value]
    if (boardLoaded.value) columns.value = upsertInColumns(columns.value, task)
    return task
  }

  async function update(task: Pick<Task, 'id' | 'version'>, changes: TaskUpdate): Promise<Task> {
    const saved = await unwrap(
      api.PATCH('/api/tasks/{task_id}', { params: { path: { task_id: task.id } }, body: { ...changes, version: task.version } }),
    )
    remember(saved)
    return saved
  }

  /** Replace the tags of a task (PUT …/tags; the task's version stays). */
  async function setTags(task: Pick<Task, 'id'>, tagIds: string[]): Promise<Task> {
    const saved = await unwrap(
      api.PUT('/api/tasks/{task_id}/tags', { params: { path: { task_id: task.id } }, body: { tag_ids: tagIds } }),
    )
    remember(saved)
    return saved
  }

  async function fetchOne(taskId: string): Promise<Task | null> {
    try {
      const task = await unwrap(api.GET('/api/tasks/{task_id}', { params: { path: { task_id: taskId } } }))
      remember(task)
      return task
    } catch (err) {
      if ((err as { status?: number }).status === 404) {
        forget(taskId)
        return null
      }
      throw err
    }
  }

  /**
   * Move a task on the board: shown at once, then sent. On failure (409 when someone else changed
   * the task meanwhile) the board is reloaded from the server and the error is thrown on.
   */
  async function move(taskId: string, status: TaskStatus, position: number): Promise<Task | null> {
    const planned = moveTask(columns.value, taskId, status, position)
    if (!planned) return null
    const before = columns.value
    columns.value = planned.columns
    try {
      const saved = await unwrap(
        api.POST('/api/tasks/{task_id}/move', {
          params: { path: { task_id: taskId } },
          body: { status, position: planned.move.position, version: planned.move.task.version },
        }),
      )
      // keep our order (the server renumbered the same way); take the task's new version and fields
      columns.value = {
        ...columns.value,
        [status]: columns.value[status].map((t) => (t.id === saved.id ? { ...saved, position: t.position } : t)),
      }
      const index = items.value.findIndex((t) => t.id === saved.id)
      if (index >= 0) items.value.splice(index, 1, saved)
      return saved
    } catch (err) {
      columns.value = before
      void loadBoard().catch(() => undefined)
      throw err
    }
  }

  async function setDone(task: Task, done: boolean): Promise<Task> {
    return update(task, { status: done ? 'done' : 'open' })
  }

  async function remove(task: Pick<Task, 'id'>): Promise<void> {
    await unwrap(api.DELETE('/api/tasks/{task_id}', { params: { path: { task_id: task.id } } }))
    forget(task.id)
  }

  // --- live updates -------------------------------------------------------------------------------

  let boardTimer: ReturnType<typeof setTimeout> | undefined
  function reloadBoardSoon(): void {
    if (!boardLoaded.value) return
    clearTimeout(boardTimer)
    boardTimer = setTimeout(() => void loadBoard().catch(() => undefined), 300)
  }

  /** A `task.*` event: fetch that task again (a move renumbers others too, so the board reloads). */
  async function applyEvent(event: RealtimeEvent): Promise<void> {
    const id = typeof event.payload.id === 'string' ? event.payload.id : null
    if (!id) return
    if (event.name === 'task.deleted') {
      forget(id)
      return
    }
    const changed = Array.isArray(event.payload.changed) ? event.payload.changed : []
    if (changed.includes('position') || changed.includes('status')) reloadBoardSoon()
    const known = find(id)
    if (event.name === 'task.created' || known) {
      const fresh = await fetchOne(id).catch(() => null)
      const wanted = fresh && matchesFilters(fresh, filters, auth.me?.id ?? null)
      if (fresh && wanted && event.name === 'task.created' && listLoaded.value && !items.value.some((t) => t.id === id)) {
        items.value = [fresh, ...items.value]
      }
    }
  }

  let subscribers = 0
  let offs: (() => void)[] = []
  /** Listen while a task screen is open; returns the function that stops listening. */
  function listen(): () => void {
    if (subscribers++ === 0) {
      offs = [
        onEvent('task.*', (event) => void applyEvent(event)),
        onEvent(RESYNC_EVENT, () => {
          if (listLoaded.value) void loadList().catch(() => undefined)
          if (boardLoaded.value) void loadBoard().catch(() => undefined)
        }),
      ]
    }
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      if (--subscribers === 0) {
        offs.forEach((off) => off())
        offs = []
      }
    }
  }

  function resetFilters(): void {
    Object.assign(filters, emptyFilters())
  }

  return {
    filters,
    sort,
    items,
    cursor,
    listLoaded,
    columns,
    boardLoaded,
    boardTruncated,
    people,
    tags,
    loadList,
    loadBoard,
    loadPeople,
    loadTags,
    personName,
    create,
    update,
    setTags,
    fetchOne,
    move,
    setDone,
    remove,
    applyEvent,
    listen,
    resetFilters,
    find,
  }
})
