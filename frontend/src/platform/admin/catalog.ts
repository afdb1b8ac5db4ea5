/** Helpers for the catalog screens: plan order, prices by billing cycle, booking status tones. */
import type { components } from '@/core/api/schema'

export type ModuleRead = components['schemas']['ModuleRead']
export type PlanRead = components['schemas']['PlanRead']
export type SubscriptionRead = components['schemas']['SubscriptionRead']
export type Cycle = 'monthly' | 'yearly'
export type Tier = 'starter' | 'business' | 'enterprise'

export const TIERS: Tier[] = ['starter', 'business', 'enterprise']

export function sortedPlans(module: ModuleRead): PlanRead[] {
  return [...module.plans].sort((a, b) => TIERS.indexOf(a.tier as Tier) - TIERS.indexOf(b.tier as Tier))
}

export function planPrice(plan: PlanRead, cycle: Cycle): string {
  return cycle === 'monthly' ? plan.price_monthly : plan.price_yearly
}

/** Percent saved per year by paying yearly (0 when not cheaper). */
export function yearlySaving(plan: PlanRead): number {
  const monthly = Number(plan.price_monthly) * 12
  const yearly = Number(plan.price_yearly)
  if (!monthly || !(yearly < monthly)) return 0
  return Math.round((1 - yearly / monthly) * 100)
}

export function statusTone(status: string | null | undefined): 'success' | 'accent' | 'warning' | 'danger' | 'neutral' {
  switch (status) {
    case 'active':
      return 'success'
    case 'trial':
      return 'accent'
    case 'pending':
    case 'suspended':
      return 'warning'
    case 'cancelled':
      return 'neutral'
    default:
      return 'neutral'
  }
}

/** A booking that currently counts (the module is open or about to be). */
export function isLive(status: string | null | undefined): boolean {
  return status === 'active' || status === 'trial' || status === 'pending' || status === 'suspended'
}

/** Limits as short "key: value" lines; null means unlimited. */
export function limitEntries(plan: PlanRead): [string, unknown][] {
  return Object.entries(plan.limits ?? {})
}
