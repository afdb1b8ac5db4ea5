/** Small display helpers shared by the contact screens. */
import type { MatchReason } from './api'

type T = (key: string, params?: Record<string, unknown>) => string

export function reasonsText(reasons: readonly MatchReason[] | undefined, t: T): string {
  if (!reasons?.length) return ''
  return reasons
    .map((reason) => (['same_email', 'same_phone', 'similar_name'].includes(reason.code) ? t(`mod.contacts.reason.${reason.code}`, { value: reason.value ?? '' }).trim() : reason.code))
    .join(', ')
}

export function percent(score: number | undefined): number {
  return Math.round(Math.max(0, Math.min(1, score ?? 0)) * 100)
}
