/** Audit entries counted per local day and per area (auth, user, subscription …) for a bar chart. */

export interface ActivitySeries {
  days: string[]
  series: { key: string; values: number[] }[]
  total: number
}

const AREAS = ['auth', 'user', 'subscription', 'role', 'team', 'mail']

/** Entity names (the first part of an audit action) that belong to an area of their own name's neighbour. */
const ALIASES: Record<string, string> = {
  refresh_token: 'auth',
  action_token: 'auth',
  user_preference: 'user',
  team_member: 'team',
  mail_message: 'mail',
}

export function dayKey(date: Date): string {
  const y = date.getFullYear()
  const m = String(date.getMonth() + 1).padStart(2, '0')
  const d = String(date.getDate()).padStart(2, '0')
  return `${y}-${m}-${d}`
}

/** The last `days` local days, oldest first, ending with `today`. */
export function lastDays(days: number, today: Date = new Date()): string[] {
  const out: string[] = []
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i)
    out.push(dayKey(d))
  }
  return out
}

export function areaOf(action: string): string {
  const head = action.split('.')[0] ?? ''
  const area = ALIASES[head] ?? head
  return AREAS.includes(area) ? area : 'other'
}

export function countActivity(entries: { created_at: string; action: string }[], days: string[]): ActivitySeries {
  const index = new Map(days.map((d, i) => [d, i]))
  const byArea = new Map<string, number[]>()
  let total = 0
  for (const entry of entries) {
    const i = index.get(dayKey(new Date(entry.created_at)))
    if (i === undefined) continue
    const area = areaOf(entry.action)
    if (!byArea.has(area)) byArea.set(area, new Array(days.length).fill(0))
    byArea.get(area)![i]++
    total++
  }
  const order = [...AREAS, 'other']
  const series = [...byArea.entries()].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([key, values]) => ({ key, values }))
  return { days, series, total }
}
