/**
 * Reference data the contact screens share: tags, custom field definitions, possible owners and saved
 * segments; loaded once per session and refreshed when live events say they changed.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { asApiError } from '@/core/api/errors'
import { onEvent } from '@/core/realtime'
import { listFields, listSegments, listTags, listUsers, type FieldDef, type Segment, type Tag, type UserRef } from './api'

export const useContactsMeta = defineStore('contacts-meta', () => {
  const tags = shallowRef<Tag[]>([])
  const fields = shallowRef<FieldDef[]>([])
  const users = shallowRef<UserRef[]>([])
  const segments = shallowRef<Segment[]>([])
  /** False when the server has no segments API (404). */
  const segmentsAvailable = ref(true)
  const loaded = ref(false)
  let loading: Promise<void> | null = null
  let listening = false

  const tagsById = computed(() => new Map(tags.value.map((tag) => [tag.id, tag])))
  const usersById = computed(() => new Map(users.value.map((user) => [user.id, user])))

  async function loadTags(): Promise<void> {
    try {
      tags.value = await listTags()
    } catch {
      tags.value = []
    }
  }

  async function loadFields(): Promise<void> {
    try {
      fields.value = await listFields()
    } catch {
      fields.value = []
    }
  }

  async function loadSegments(): Promise<void> {
    try {
      segments.value = await listSegments()
      segmentsAvailable.value = true
    } catch (err) {
      const status = asApiError(err).status
      if (status === 404 || status === 405) segmentsAvailable.value = false
      segments.value = []
    }
  }

  function listen(): void {
    if (listening) return
    listening = true
    onEvent('tag.*', () => void loadTags())
    onEvent('contact.tag.*', () => void loadTags())
    onEvent('contact.field.*', () => void loadFields())
    onEvent('contact.segment.*', () => void loadSegments())
  }

  function ensure(): Promise<void> {
    if (!loading) {
      listen()
      loading = Promise.all([loadTags(), loadFields(), loadSegments(), listUsers().then((u) => (users.value = u))]).then(() => {
        loaded.value = true
      })
    }
    return loading
  }

  function reset(): void {
    loading = null
    loaded.value = false
  }

  return { tags, fields, users, segments, segmentsAvailable, loaded, tagsById, usersById, ensure, reset, loadTags, loadFields, loadSegments }
})
