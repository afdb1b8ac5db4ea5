/**
 * Pure logic of the pipeline settings: stage order (drag & drop and the keyboard path both end in
 * `moveStage`), the colour palette, the checks the server makes too (shown before a round trip),
 * and what a stage edit sends (only what changed).
 */
import type { Stage, StageCreate, StageUpdate } from './api'

/** Board colours offered for stages (the server takes any #rrggbb). */
export const PALETTE = [
  '#94a3b8', '#64748b', '#0ea5e9', '#3b82f6', '#6366f1', '#8b5cf6',
  '#ec4899', '#ef4444', '#f97316', '#f59e0b', '#eab308', '#84cc16', '#22c55e', '#14b8a6',
] as const

export interface StageDraft {
  name: string
  color: string
  probability: number | string
  /** '' or null: never rotting. */
  rotting_days: number | string | null
}

export type StageErrors = Partial<Record<'name' | 'color' | 'probability' | 'rotting_days', string>>

/** `list` with the item at `from` moved to index `to` (clamped); a new array, the input stays. */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const out = list.slice()
  if (from < 0 || from >= out.length) return out
  const target = Math.max(0, Math.min(out.length - 1, to))
  const [item] = out.splice(from, 1)
  out.splice(target, 0, item)
  return out
}

/** The ids in their new order after moving `id` by `delta` places (-1 up, +1 down); null when it cannot move. */
export function moveStage(ids: readonly string[], id: string, delta: number): string[] | null {
  const from = ids.indexOf(id)
  const to = from + delta
  if (from < 0 || to < 0 || to >= ids.length || delta === 0) return null
  return moveItem(ids, from, to)
}

/** The ids after a drop of `draggedId` onto the row of `targetId` (it takes the target's place). */
export function dropStage(ids: readonly string[], draggedId: string, targetId: string): string[] | null {
  const from = ids.indexOf(draggedId)
  const to = ids.indexOf(targetId)
  if (from < 0 || to < 0 || from === to) return null
  return moveItem(ids, from, to)
}

export function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}

/** Stages sorted by position (the server sends them in order, but events and local edits may not). */
export function ordered(stages: readonly Stage[]): Stage[] {
  return stages.slice().sort((a, b) => a.position - b.position)
}

function asInt(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null
  const n = typeof value === 'number' ? value : Number(String(value).trim())
  return Number.isFinite(n) ? n : NaN
}

/** Field complaints as i18n keys under mod.crm.settings.pipelines.errors (the server checks the same). */
export function validateStage(draft: StageDraft): StageErrors {
  const errors: StageErrors = {}
  if (!draft.name.trim()) errors.name = 'nameRequired'
  else if (draft.name.trim().length > 100) errors.name = 'nameTooLong'
  if (!/^#[0-9a-fA-F]{6}$/.test(draft.color)) errors.color = 'color'
  const probability = asInt(draft.probability)
  if (probability === null || Number.isNaN(probability) || !Number.isInteger(probability) || probability < 0 || probability > 100) {
    errors.probability = 'probability'
  }
  const rotting = asInt(draft.rotting_days)
  if (rotting !== null && (Number.isNaN(rotting) || !Number.isInteger(rotting) || rotting < 1 || rotting > 3650)) {
    errors.rotting_days = 'rotting'
  }
  return errors
}

export function draftOf(stage?: Partial<Stage>): StageDraft {
  return {
    name: stage?.name ?? '',
    color: stage?.color ?? PALETTE[2],
    probability: stage?.probability ?? 0,
    rotting_days: stage?.rotting_days ?? '',
  }
}

export function createBody(draft: StageDraft): StageCreate {
  const rotting = asInt(draft.rotting_days)
  return {
    name: draft.name.trim(),
    color: draft.color,
    probability: asInt(draft.probability) ?? 0,
    rotting_days: rotting === null ? null : rotting,
  }
}

/** Only the fields that differ from `stage` (rotting_days: null switches rotting off). */
export function updateBody(stage: Stage, draft: StageDraft): StageUpdate {
  const next = createBody(draft)
  const body: StageUpdate = {}
  if (next.name !== stage.name) body.name = next.name
  if (next.color !== stage.color) body.color = next.color
  if (next.probability !== stage.probability) body.probability = next.probability
  if ((next.rotting_days ?? null) !== (stage.rotting_days ?? null)) body.rotting_days = next.rotting_days ?? null
  return body
}

/** Initial stages offered for a new pipeline (names in the user's language, probabilities rising). */
export function starterStages(names: readonly string[]): StageDraft[] {
  const colors = ['#94a3b8', '#0ea5e9', '#6366f1', '#f59e0b', '#22c55e']
  const step = names.length > 1 ? 100 / (names.length) : 100
  return names.map((name, i) => ({
    name,
    color: colors[i % colors.length],
    probability: Math.min(100, Math.round(step * (i + 1) / 5) * 5),
    rotting_days: '',
  }))
}
