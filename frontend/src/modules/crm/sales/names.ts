/**
 * Names for ids on deals and leads (contacts, organisations, owners): deals arrive with their names
 * (`rememberDeals`, called by api.ts); anything else — leads' owners, a deal that came by a live event —
 * is looked up once per id and shared (a reactive cache, at most 4 lookups at a time).
 */
import { reactive } from 'vue'
import { api, unwrap } from '@/core/api/client'
import { useAuthStore } from '@/core/auth/store'

const contactNames = reactive(new Map<string, string>())
const pending = new Set<string>()
const queue: string[] = []
let running = 0

const users = reactive<{ loaded: boolean; list: { id: string; name: string }[] }>({ loaded: false, list: [] })
let usersRequest: Promise<void> | null = null

function pump(): void {
  while (running < 4 && queue.length) {
    const id = queue.shift()!
    running++
    unwrap(api.GET('/api/contacts/{contact_id}', { params: { path: { contact_id: id } } }))
      .then((c) => contactNames.set(id, c.display_name))
      .catch(() => contactNames.set(id, ''))
      .finally(() => {
        running--
        pending.delete(id)
        pump()
      })
  }
}

/** The contact's display name ('' while unknown or not visible); starts a lookup the first time. */
export function contactName(id: string | null | undefined): string {
  if (!id) return ''
  const known = contactNames.get(id)
  if (known !== undefined) return known
  if (!pending.has(id)) {
    pending.add(id)
    queue.push(id)
    pump()
  }
  return ''
}

export function rememberContact(id: string, name: string): void {
  contactNames.set(id, name)
}

/** Owner names the server sent along with deals (also for users who may not list the company's users). */
const ownerNames = reactive(new Map<string, string>())

export interface NamedDeal {
  contact_id?: string | null
  contact_name?: string | null
  organization_id?: string | null
  organization_name?: string | null
  owner_id?: string | null
  owner_name?: string | null
}

/**
 * Take the names the server sends with deals, so cards and lists need no lookup per id. A contact id
 * without a name is one the viewer may not read: remembered as '' so it is not fetched in vain.
 */
export function rememberDeals(deals: NamedDeal[]): void {
  for (const deal of deals) {
    if (deal.contact_id) contactNames.set(deal.contact_id, deal.contact_name ?? '')
    if (deal.organization_id) contactNames.set(deal.organization_id, deal.organization_name ?? '')
    if (deal.owner_id && deal.owner_name) ownerNames.set(deal.owner_id, deal.owner_name)
  }
}

/** The company's users for owner pickers and names (just "me" without users:read). */
export function loadUsers(): Promise<void> {
  if (usersRequest) return usersRequest
  const auth = useAuthStore()
  usersRequest = (async () => {
    const self = auth.me ? [{ id: auth.me.id, name: auth.me.name }] : []
    if (!auth.can('users:read')) {
      users.list = self
    } else {
      try {
        const page = await unwrap(api.GET('/api/users', { params: { query: { limit: 200 } } }))
        users.list = page.items.filter((u) => u.is_active).map((u) => ({ id: u.id, name: u.name }))
        if (self.length && !users.list.some((u) => u.id === self[0].id)) users.list.unshift(self[0])
      } catch {
        users.list = self
      }
    }
    users.loaded = true
  })()
  return usersRequest
}

export function userList(): { id: string; name: string }[] {
  void loadUsers()
  return users.list
}

export function userName(id: string | null | undefined): string {
  if (!id) return ''
  void loadUsers()
  return users.list.find((u) => u.id === id)?.name ?? ownerNames.get(id) ?? ''
}
