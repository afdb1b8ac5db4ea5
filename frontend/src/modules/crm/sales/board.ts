/**
 * The board's state and the pure functions that change it: columns per stage with count, sums and
 * weighted sums per currency, the loaded cards in board order (position, then id), optimistic moves
 * and live events. Counts and sums cover the whole stage, the cards only the loaded part: a card
 * whose position lies beyond the last loaded card of a column with more pages is counted but not shown.
 */
import { addToSums, weightedValue, type Amount } from './money'
import type { Board, Deal, MoveBody, Stage } from './api'

export interface Column {
  stage: Stage
  count: number
  sums: Amount[]
  weighted: Amount[]
  deals: Deal[]
  nextCursor: string | null
}

export function toColumns(board: Board): Column[] {
  return board.columns.map((c) => ({
    stage: c.stage,
    count: c.count,
    sums: c.sums.map((s) => ({ currency: s.currency, value: String(s.value) })),
    weighted: c.weighted.map((s) => ({ currency: s.currency, value: String(s.value) })),
    deals: [...c.deals],
    nextCursor: c.next_cursor ?? null,
  }))
}

function byBoardOrder(a: Deal, b: Deal): number {
  return a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export function findDeal(columns: Column[], dealId: string): { column: number; index: number; deal: Deal } | null {
  for (const [column, c] of columns.entries()) {
    const index = c.deals.findIndex((d) => d.id === dealId)
    if (index >= 0) return { column, index, deal: c.deals[index] }
  }
  return null
}

function withTotals(column: Column, deal: Deal, sign: 1 | -1): Column {
  return {
    ...column,
    count: Math.max(0, column.count + sign),
    sums: addToSums(column.sums, deal.currency, String(deal.value), sign),
    weighted: addToSums(column.weighted, deal.currency, weightedValue(String(deal.value), deal.probability), sign),
  }
}

/** The deal taken off the board (count and sums of its column go down). */
export function removeDeal(columns: Column[], dealId: string): Column[] {
  const found = findDeal(columns, dealId)
  if (!found) return columns
  return columns.map((c, i) =>
    i === found.column ? { ...withTotals(c, found.deal, -1), deals: c.deals.filter((d) => d.id !== dealId) } : c,
  )
}

/**
 * Put an open deal into its stage's column, ordered by position. Not on this board (other pipeline,
 * closed) → unchanged. Beyond the loaded cards of a column with more pages → only counted.
 */
export function insertDeal(columns: Column[], deal: Deal): Column[] {
  if (deal.status !== 'open') return columns
  const target = columns.findIndex((c) => c.stage.id === deal.stage_id)
  if (target < 0) return columns
  return columns.map((c, i) => {
    if (i !== target) return c
    const counted = withTotals(c, deal, 1)
    const last = c.deals[c.deals.length - 1]
    if (c.nextCursor && (!last || byBoardOrder(deal, last) > 0)) return counted
    return { ...counted, deals: [...c.deals, deal].sort(byBoardOrder) }
  })
}

/** Replace or add a deal as the server reported it (removed first, so totals stay right). */
export function upsertDeal(columns: Column[], deal: Deal): Column[] {
  return insertDeal(removeDeal(columns, deal.id), deal)
}

/**
 * Where a card dropped at `index` of `stageId`'s loaded cards goes, in the move API's terms: right
 * before the card now at that place, else right after the last card, else (empty column) at the end.
 * `index` counts the cards without the moved one.
 */
export function moveRequest(columns: Column[], deal: Deal, stageId: string, index: number): MoveBody {
  const column = columns.find((c) => c.stage.id === stageId)
  const others = (column?.deals ?? []).filter((d) => d.id !== deal.id)
  const clamped = Math.max(0, Math.min(index, others.length))
  const body: MoveBody = { stage_id: stageId, version: deal.version }
  if (clamped < others.length) body.before_id = others[clamped].id
  else if (others.length) body.after_id = others[others.length - 1].id
  return body
}

/**
 * The board after moving `dealId` to `index` of `stageId` (before the server answers). The card gets
 * a position between its new neighbours so later events sort it in the same place.
 */
export function applyMove(columns: Column[], dealId: string, stageId: string, index: number): Column[] {
  const found = findDeal(columns, dealId)
  const target = columns.find((c) => c.stage.id === stageId)
  if (!found || !target) return columns
  const others = target.deals.filter((d) => d.id !== dealId)
  const at = Math.max(0, Math.min(index, others.length))
  const before = others[at - 1]
  const after = others[at]
  let position: number
  if (before && after) position = (before.position + after.position) / 2
  else if (before) position = before.position + 1024
  else if (after) position = after.position - 1024
  else position = 1024
  const stageChanged = found.deal.stage_id !== stageId
  const moved: Deal = {
    ...found.deal,
    stage_id: stageId,
    position,
    probability: found.deal.probability_override ?? (stageChanged ? target.stage.probability : found.deal.probability),
    rotting: stageChanged ? false : found.deal.rotting,
  }
  const removed = removeDeal(columns, dealId)
  return removed.map((c) => {
    if (c.stage.id !== stageId) return c
    const deals = [...c.deals]
    deals.splice(at, 0, moved)
    return { ...withTotals(c, moved, 1), deals }
  })
}

function hasMorePages(columns: Column[]): boolean {
  return columns.some((c) => c.nextCursor)
}

/** Fields of a deal.* event payload that the board reads. */
export interface DealEventPayload {
  id?: unknown
  pipeline_id?: unknown
  stage_id?: unknown
  status?: unknown
  value?: unknown
  currency?: unknown
  title?: unknown
  owner_id?: unknown
  position?: unknown
  version?: unknown
}

export type EventOutcome =
  | { kind: 'ignore' }
  | { kind: 'apply'; columns: Column[] }
  /** The card is not loaded (or the event lacks data): fetch the deal and upsert it. */
  | { kind: 'fetch'; dealId: string }
  /** The board cannot tell what changed (a card beyond the loaded ones left): reload it. */
  | { kind: 'reload' }

/**
 * What a live `deal.*` event does to the board of `pipelineId`. Moves apply straight from the payload;
 * events at or below the version the board already has (e.g. the echo of one's own move) change nothing.
 * `ownerId`: the board shows only this owner's deals.
 */
export function applyDealEvent(
  columns: Column[],
  pipelineId: string,
  name: string,
  payload: DealEventPayload,
  at: string,
  ownerId: string | null = null,
): EventOutcome {
  const id = typeof payload.id === 'string' ? payload.id : null
  if (!id) return { kind: 'ignore' }
  const found = findDeal(columns, id)
  // A board filtered by owner: another owner's deal is not on it (any more).
  if (ownerId && payload.owner_id !== ownerId) return found ? { kind: 'apply', columns: removeDeal(columns, id) } : { kind: 'ignore' }
  const version = typeof payload.version === 'number' ? payload.version : null
  if (found && version !== null && version <= found.deal.version && name !== 'deal.deleted') return { kind: 'ignore' }
  const onThisBoard = payload.pipeline_id === pipelineId
  if (name === 'deal.deleted' || name === 'deal.won' || name === 'deal.lost') {
    if (found) return { kind: 'apply', columns: removeDeal(columns, id) }
    // Not loaded: if it was open in a column with more pages, that column's totals include it.
    return onThisBoard && hasMorePages(columns) ? { kind: 'reload' } : { kind: 'ignore' }
  }
  if (!onThisBoard) return found ? { kind: 'apply', columns: removeDeal(columns, id) } : { kind: 'ignore' }
  if ((name === 'deal.stage_changed' || name === 'deal.reordered') && found && typeof payload.stage_id === 'string' && typeof payload.position === 'number' && version !== null) {
    const target = columns.find((c) => c.stage.id === payload.stage_id)
    const stageChanged = found.deal.stage_id !== payload.stage_id
    const moved: Deal = {
      ...found.deal,
      stage_id: payload.stage_id,
      position: payload.position,
      version,
      probability: found.deal.probability_override ?? (stageChanged && target ? target.stage.probability : found.deal.probability),
      rotting: stageChanged ? false : found.deal.rotting,
      stage_entered_at: stageChanged ? at || found.deal.stage_entered_at : found.deal.stage_entered_at,
    }
    return { kind: 'apply', columns: upsertDeal(columns, moved) }
  }
  if (name === 'deal.stage_changed' && !found && hasMorePages(columns)) {
    // It may have left a column where it was counted but not loaded: the totals cannot be corrected here.
    return { kind: 'reload' }
  }
  return { kind: 'fetch', dealId: id }
}

/** How a deal leaves the board besides moving: the drop zones at the bottom while a card is dragged. */
export type Outcome = 'won' | 'lost'

/** Where a card picked up by keyboard would go: a place in a column, or (outcome set) a close-out drop zone. */
export interface KeyboardTarget {
  stageId: string
  index: number
  outcome?: Outcome
}

/**
 * Where a keyboard move goes (arrow keys while a card is picked up). Arrow down past the last place of a
 * column reaches the "Won" zone, → / ← switch between "Won" and "Lost", arrow up returns to the place
 * the card came from (stage and index are kept while an outcome is chosen).
 */
export function keyboardStep(
  columns: Column[],
  dealId: string,
  at: KeyboardTarget,
  key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown',
): KeyboardTarget | null {
  const col = columns.findIndex((c) => c.stage.id === at.stageId)
  if (col < 0) return null
  if (at.outcome) {
    if (key === 'ArrowUp') return { stageId: at.stageId, index: at.index }
    if (key === 'ArrowRight' && at.outcome === 'won') return { ...at, outcome: 'lost' }
    if (key === 'ArrowLeft' && at.outcome === 'lost') return { ...at, outcome: 'won' }
    return null
  }
  const othersIn = (i: number) => columns[i].deals.filter((d) => d.id !== dealId).length
  if (key === 'ArrowUp') return at.index > 0 ? { stageId: at.stageId, index: at.index - 1 } : null
  if (key === 'ArrowDown') {
    return at.index < othersIn(col) ? { stageId: at.stageId, index: at.index + 1 } : { stageId: at.stageId, index: at.index, outcome: 'won' }
  }
  const next = key === 'ArrowLeft' ? col - 1 : col + 1
  if (next < 0 || next >= columns.length) return null
  return { stageId: columns[next].stage.id, index: Math.min(at.index, othersIn(next)) }
}
