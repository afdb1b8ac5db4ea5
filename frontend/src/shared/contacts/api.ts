/**
 * The contacts component's calls, typed by the generated schema. `request()` is for what the schema
 * cannot say: GET /api/contacts with `cf.<key>` filters (free query keys).
 */
import { api, unwrap } from '@/core/api/client'
import { ApiError, errorFromResponse, asApiError } from '@/core/api/errors'
import { sessionFetch } from '@/core/api/client'
import type { components } from '@/core/api/schema'

export type Contact = components['schemas']['ContactRead']
export type ContactCreate = components['schemas']['ContactCreate']
export type ContactUpdate = components['schemas']['ContactUpdate']
export type FieldDef = components['schemas']['FieldRead']
export type Relation = components['schemas']['RelationRead']
export type RelationCreate = components['schemas']['RelationCreate']
export type Activity = components['schemas']['ActivityRead']
export type Note = components['schemas']['NoteRead']
export type Task = components['schemas']['TaskRead']
export type TagRef = components['schemas']['TagRef']

export type Tag = components['schemas']['TagRead']

export interface Page<T> {
  items: T[]
  next_cursor?: string | null
}

type Query = Record<string, string | number | boolean | null | undefined>

function origin(): string {
  return typeof location !== 'undefined' && location.origin && location.origin !== 'null' ? location.origin : 'http://localhost'
}

/** A JSON call by path; throws ApiError like `unwrap` does. */
export async function request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
  const url = new URL(path, origin())
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.append(key, String(value))
  }
  const init: RequestInit = { method, headers: { Accept: 'application/json' } }
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body)
    init.headers = { ...init.headers, 'Content-Type': 'application/json' }
  }
  let response: Response
  try {
    response = await sessionFetch(new Request(url.toString(), init))
  } catch (err) {
    throw asApiError(err)
  }
  if (!response.ok) throw await errorFromResponse(response)
  if (response.status === 204) return undefined as T
  const text = await response.text()
  return (text ? JSON.parse(text) : undefined) as T
}

/** Query of GET /api/contacts: the documented filters plus `cf.<key>` custom-field filters and `segment`. */
export function listContacts(query: Query): Promise<Page<Contact>> {
  return request<Page<Contact>>('GET', '/api/contacts', { query })
}

export function getContact(id: string): Promise<Contact> {
  return unwrap(api.GET('/api/contacts/{contact_id}', { params: { path: { contact_id: id } } }))
}

export function createContact(body: ContactCreate): Promise<Contact> {
  return unwrap(api.POST('/api/contacts', { body }))
}

export function updateContact(id: string, body: ContactUpdate): Promise<Contact> {
  return unwrap(api.PATCH('/api/contacts/{contact_id}', { params: { path: { contact_id: id } }, body }))
}

export function deleteContact(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/contacts/{contact_id}', { params: { path: { contact_id: id } } }))
}

export function setContactTags(id: string, tagIds: string[]): Promise<Contact> {
  return unwrap(api.PUT('/api/contacts/{contact_id}/tags', { params: { path: { contact_id: id } }, body: { tag_ids: tagIds } }))
}

export function listFields(): Promise<FieldDef[]> {
  return unwrap(api.GET('/api/contacts/fields'))
}

/** The company's tags (the shared tags component, /api/tags). */
export function listTags(): Promise<Tag[]> {
  return unwrap(api.GET('/api/tags'))
}

export function createTag(name: string, color: string): Promise<Tag> {
  return unwrap(api.POST('/api/tags', { body: { name, color } }))
}

export function listRelations(id: string): Promise<Relation[]> {
  return unwrap(api.GET('/api/contacts/{contact_id}/relations', { params: { path: { contact_id: id } } }))
}

export function createRelation(id: string, body: RelationCreate): Promise<Relation> {
  return unwrap(api.POST('/api/contacts/{contact_id}/relations', { params: { path: { contact_id: id } }, body }))
}

export function deleteRelation(id: string, relationId: string): Promise<unknown> {
  return unwrap(
    api.DELETE('/api/contacts/{contact_id}/relations/{relation_id}', { params: { path: { contact_id: id, relation_id: relationId } } }),
  )
}

export function listActivities(contactId: string, cursor?: string | null): Promise<Page<Activity>> {
  return unwrap(api.GET('/api/activities', { params: { query: { contact_id: contactId, limit: 30, cursor: cursor ?? undefined } } }))
}

export function listNotes(contactId: string): Promise<Page<Note>> {
  return unwrap(api.GET('/api/notes', { params: { query: { linked_contact_id: contactId, limit: 50 } } }))
}

export function addNote(contactId: string, content: string): Promise<Note> {
  return unwrap(api.POST('/api/notes', { body: { content, is_pinned: false, linked_contact_id: contactId } }))
}

export function listTasks(contactId: string): Promise<Page<Task>> {
  return unwrap(api.GET('/api/tasks', { params: { query: { linked_contact_id: contactId, limit: 50, sort: 'due_date' } } }))
}

export function addTask(contactId: string, title: string, dueDate: string | null): Promise<Task> {
  return unwrap(api.POST('/api/tasks', { body: { title, description: '', status: 'open', priority: 'medium', due_date: dueDate || null, linked_contact_id: contactId } }))
}

export interface UserRef {
  id: string
  name: string
  email: string
}

/** Possible owners (needs users:read; without it the list is empty and the filter offers only "mine"). */
export async function listUsers(): Promise<UserRef[]> {
  try {
    const page = await request<Page<{ id: string; name?: string; full_name?: string; email: string }>>('GET', '/api/users', {
      query: { limit: 200 },
    })
    return page.items.map((u) => ({ id: u.id, name: u.name ?? u.full_name ?? u.email, email: u.email }))
  } catch {
    return []
  }
}

// --- segments (/api/contacts/segments) ----------------------------------------------------------------

export type Segment = components['schemas']['SegmentRead']

export function listSegments(): Promise<Segment[]> {
  return unwrap(api.GET('/api/contacts/segments'))
}

export function getSegment(id: string): Promise<Segment> {
  return unwrap(api.GET('/api/contacts/segments/{segment_id}', { params: { path: { segment_id: id } } }))
}

export function saveSegment(segment: { id?: string; name: string; filter: Record<string, unknown>; shared: boolean; version?: number }): Promise<Segment> {
  if (segment.id) {
    return unwrap(
      api.PATCH('/api/contacts/segments/{segment_id}', {
        params: { path: { segment_id: segment.id } },
        body: { name: segment.name, filter: segment.filter, shared: segment.shared, version: segment.version ?? 0 },
      }),
    )
  }
  return unwrap(api.POST('/api/contacts/segments', { body: { name: segment.name, filter: segment.filter, shared: segment.shared, entity: 'contact' } }))
}

export function deleteSegment(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/contacts/segments/{segment_id}', { params: { path: { segment_id: id } } }))
}

/** How many contacts a filter matches (before saving it); an empty group counts them all. */
export async function previewSegment(filter: Record<string, unknown>): Promise<number> {
  return (await unwrap(api.POST('/api/contacts/segments/preview', { body: { filter } }))).count
}

// --- duplicates and merge ---------------------------------------------------------------------------

export type MatchReason = components['schemas']['MatchReason']
export type ContactSummary = components['schemas']['ContactSummary']
export type DuplicateCandidate = components['schemas']['DuplicateCandidate']
export type DuplicatePair = components['schemas']['DuplicatePair']
export type MergeResult = components['schemas']['MergeResult']
export type MergeChoice = 'this' | 'other'
export type ListMergeChoice = 'this' | 'other' | 'both'
/** The preview as the wizard uses it: both sides present (the schema allows a missing `other`). */
export type MergePreview = Omit<components['schemas']['MergePreview'], 'other'> & { other: Contact }
/** The request with the per-field choices keyed by name (the schema lists the fields one by one). */
export type MergeRequest = Omit<components['schemas']['MergeRequest'], 'fields'> & { fields: Record<string, MergeChoice | ListMergeChoice> }

export async function duplicatesOf(id: string): Promise<DuplicateCandidate[]> {
  return (await unwrap(api.GET('/api/contacts/{contact_id}/duplicates', { params: { path: { contact_id: id } } }))).items
}

export function allDuplicates(cursor?: string | null): Promise<Page<DuplicatePair>> {
  return unwrap(api.GET('/api/contacts/duplicates', { params: { query: { cursor: cursor ?? undefined, limit: 50 } } }))
}

export async function mergePreview(id: string, otherId: string): Promise<MergePreview> {
  const preview = await unwrap(api.GET('/api/contacts/{contact_id}/merge-preview', { params: { path: { contact_id: id }, query: { other_id: otherId } } }))
  if (!preview.other) throw new ApiError(404, 'contact_not_found')
  return preview as MergePreview
}

export function mergeContacts(id: string, body: MergeRequest): Promise<MergeResult> {
  return unwrap(api.POST('/api/contacts/{contact_id}/merge', { params: { path: { contact_id: id } }, body: body as components['schemas']['MergeRequest'] }))
}
