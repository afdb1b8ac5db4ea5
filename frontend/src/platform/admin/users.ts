/** Loading every user of the company (for pickers); companies are small, pages of 200 are walked. */
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'

export type User = components['schemas']['UserRead']

export async function allUsers(activeOnly = false): Promise<User[]> {
  const out: User[] = []
  let cursor: string | undefined
  for (let page = 0; page < 50; page++) {
    const result = await unwrap(
      api.GET('/api/users', { params: { query: { limit: 200, cursor, is_active: activeOnly ? true : undefined } } }),
    )
    out.push(...result.items)
    if (!result.next_cursor) break
    cursor = result.next_cursor
  }
  return out
}
