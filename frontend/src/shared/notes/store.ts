/**
 * Notes: the list (pinned first, newest first, filtered by pin, contact and tag), writing, pinning, tagging,
 * deleting — and following `note.created/updated/deleted` live while the notes page is open.
 */
import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'
import { useAuthStore } from '@/core/auth/store'
import { onEvent, RESYNC_EVENT, type RealtimeEvent } from '@/core/realtime'

export type Note = components['schemas']['NoteRead']
export type NoteTag = components['schemas']['TagRef']
export type NoteCreate = components['schemas']['NoteCreate']
export type NoteUpdate = Omit<components['schemas']['NoteUpdate'], 'version'>

/** Where a note goes in the list: pinned ones first, then newest first (as the server sorts). */
export function noteOrder(a: Note, b: Note): number {
  if (a.is_pinned !== b.is_pinned) return a.is_pinned ? -1 : 1
  return a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1
}

/** Whether a note belongs in a list with these filters (so a saved note stays or leaves without a reload). */
export function noteMatches(note: Note, filters: { pinned: boolean; contactId: string; tag: string }): boolean {
  return (
    (!filters.pinned || note.is_pinned) &&
    (!filters.contactId || note.linked_contact_id === filters.contactId) &&
    (!filters.tag || (note.tags ?? []).some((tag) => tag.id === filters.tag))
  )
}

export const useNotesStore = defineStore('shared.notes', () => {
  const auth = useAuthStore()
  const filters = reactive({ pinned: false, contactId: '', tag: '' })
  const items = ref<Note[]>([])
  /** The company's tags (shared /api/tags), for the picker and the tag filter. */
  const tags = ref<NoteTag[]>([])
  /** Names of the contacts notes link to (looked up once each; null: not visible to the caller). */
  const contactNames = reactive<Record<string, string | null>>({})
  const cursor = ref<string | null>(null)

  let request = 0
  async function load(more = false): Promise<void> {
    const mine = ++request
    const page = await unwrap(
      api.GET('/api/notes', {
        params: {
          query: {
            pinned: filters.pinned ? true : undefined,
            linked_contact_id: filters.contactId || undefined,
            tag: filters.tag || undefined,
            limit: 30,
            cursor: more ? (cursor.value ?? undefined) : undefined,
          },
        },
      }),
    )
    if (mine !== request) return
    items.value = more ? [...items.value, ...page.items.filter((n) => !items.value.some((i) => i.id === n.id))] : page.items
    cursor.value = page.next_cursor ?? null
    void lookUpContacts(page.items)
  }

  async function lookUpContacts(notes: Note[]): Promise<void> {
    const ids = [...new Set(notes.map((n) => n.linked_contact_id).filter((id): id is string => !!id && !(id in contactNames)))]
    for (const id of ids) contactNames[id] = null
    await Promise.all(
      ids.map(async (id) => {
        try {
          const contact = await unwrap(api.GET('/api/contacts/{contact_id}', { params: { path: { contact_id: id } } }))
          contactNames[id] = contact.display_name
        } catch {
          /* deleted or outside the caller's scope: no name */
        }
      }),
    )
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

  function put(note: Note): void {
    const others = items.value.filter((n) => n.id !== note.id)
    items.value = (noteMatches(note, filters) ? [...others, note] : others).sort(noteOrder)
    void lookUpContacts([note])
  }

  async function create(body: NoteCreate): Promise<Note> {
    const note = await unwrap(api.POST('/api/notes', { body }))
    put(note)
    return note
  }

  async function update(note: Pick<Note, 'id' | 'version'>, changes: NoteUpdate): Promise<Note> {
    const saved = await unwrap(
      api.PATCH('/api/notes/{note_id}', { params: { path: { note_id: note.id } }, body: { ...changes, version: note.version } }),
    )
    put(saved)
    return saved
  }

  async function refetch(id: string): Promise<Note | null> {
    try {
      const note = await unwrap(api.GET('/api/notes/{note_id}', { params: { path: { note_id: id } } }))
      put(note)
      return note
    } catch {
      items.value = items.value.filter((n) => n.id !== id)
      return null
    }
  }

  async function remove(note: Pick<Note, 'id'>): Promise<void> {
    await unwrap(api.DELETE('/api/notes/{note_id}', { params: { path: { note_id: note.id } } }))
    items.value = items.value.filter((n) => n.id !== note.id)
  }

  // --- live updates -------------------------------------------------------------------------------

  /** Whether a note sorts inside the part of the list already loaded (else it waits for "load more"). */
  function withinLoaded(note: Note): boolean {
    const last = items.value[items.value.length - 1]
    return !cursor.value || !last || noteOrder(note, last) <= 0
  }

  /**
   * A `note.*` event (from this or another session): a deleted note leaves the list, a new or changed
   * one is fetched again (the event carries no full note, and the read also re-checks the caller's
   * scope) and put where it belongs. Returns what happened to the list, for the page to react.
   */
  async function applyEvent(event: RealtimeEvent): Promise<'removed' | 'changed' | null> {
    const id = typeof event.payload.id === 'string' ? event.payload.id : null
    if (!id) return null
    const known = items.value.some((n) => n.id === id)
    if (event.name === 'note.deleted') {
      if (!known) return null
      items.value = items.value.filter((n) => n.id !== id)
      return 'removed'
    }
    if (event.name !== 'note.created' && event.name !== 'note.updated') return null
    const version = typeof event.payload.version === 'number' ? event.payload.version : null
    const current = items.value.find((n) => n.id === id)
    // already have it (typically our own save); tags change without a new version, so those are re-read
    const tagsChanged = Array.isArray(event.payload.changed) && event.payload.changed.includes('tag_ids')
    if (current && version !== null && (current.version > version || (current.version === version && !tagsChanged))) {
      return null
    }
    let note: Note
    try {
      note = await unwrap(api.GET('/api/notes/{note_id}', { params: { path: { note_id: id } } }))
    } catch {
      if (!known) return null
      items.value = items.value.filter((n) => n.id !== id) // gone or out of the caller's scope meanwhile
      return 'removed'
    }
    const stillKnown = items.value.some((n) => n.id === id)
    if (!stillKnown && (!noteMatches(note, filters) || !withinLoaded(note))) return null
    put(note)
    return 'changed'
  }

  let offs: (() => void)[] = []
  const observers = new Set<(event: RealtimeEvent) => void>()
  /**
   * Follow note events while a notes screen is open; `observe` hears of every note event once the list
   * has taken it in (the page uses it to warn about the note being edited). Returns the function that
   * stops listening; the socket subscription ends with the last listener.
   */
  function listen(observe: (event: RealtimeEvent) => void = () => undefined): () => void {
    const observer = (event: RealtimeEvent) => observe(event)
    observers.add(observer)
    if (observers.size === 1) {
      offs = [
        onEvent('note.*', (event) => {
          void applyEvent(event)
            .catch(() => null)
            .then(() => observers.forEach((notify) => notify(event)))
        }),
        onEvent(RESYNC_EVENT, () => void load().catch(() => undefined)),
      ]
    }
    return () => {
      if (!observers.delete(observer)) return
      if (observers.size === 0) {
        offs.forEach((off) => off())
        offs = []
      }
    }
  }

  return { filters, items, tags, cursor, contactNames, load, loadTags, create, update, refetch, remove, put, applyEvent, listen }
})
