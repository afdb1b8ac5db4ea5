/**
 * Calls of the CRM's sales screens (board, deals, leads) through the generated client, and the
 * types they use. Money travels as decimal strings ("1234.50") and is never rounded through a float.
 */
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'
import { rememberDeals } from './names'

type S = components['schemas']
// Lists with a default on the server are always sent: required here.
type TagRef = S['TagRef']
export type StageStay = S['StageStay']
export type DealItem = S['DealItemRead']
export type Deal = S['DealRead'] & { tags: TagRef[] }
export type DealDetail = S['DealDetail'] & { tags: TagRef[]; items: DealItem[]; stage_history: StageStay[] }
export type DealItemIn = S['DealItemIn']
export type DealCreate = S['DealCreate']
export type DealUpdate = S['DealUpdate']
export type Stage = S['StageRead']
export type Pipeline = S['PipelineRead'] & { stages: Stage[] }
export type BoardColumn = Omit<S['BoardColumn'], 'deals'> & { deals: Deal[] }
export type Board = Omit<S['Board'], 'pipeline' | 'columns'> & { pipeline: Pipeline; columns: BoardColumn[] }
export type CurrencySum = S['CurrencySum']
export type Lead = S['LeadRead'] & { tags: TagRef[] }
export type LeadDetail = S['LeadDetail'] & { tags: TagRef[]; score_history: S['ScoreEntry'][] }
export type LeadConvert = S['LeadConvert']
export type LeadConversion = Omit<S['LeadConversion'], 'deal'> & { deal: Deal | null }
export type DuplicateRef = S['DuplicateRef']

export interface Page<T> {
  items: T[]
  next_cursor?: string | null
}

/** Every answer that carries deals hands their names to the shared name cache on the way. */
function named<T>(answer: Promise<T>, deals: (value: T) => Deal[]): Promise<T> {
  return answer.then((value) => {
    rememberDeals(deals(value))
    return value
  })
}

export function listPipelines(): Promise<Pipeline[]> {
  return unwrap(api.GET('/api/crm/pipelines')) as Promise<Pipeline[]>
}

export function getBoard(pipelineId: string, ownerId: string | null = null): Promise<Board> {
  return named(
    unwrap(
      api.GET('/api/crm/pipelines/{pipeline_id}/board', {
        params: { path: { pipeline_id: pipelineId }, query: { owner_id: ownerId ?? undefined } },
      }),
    ) as Promise<Board>,
    (board) => board.columns.flatMap((column) => column.deals),
  )
}

export function stageDeals(pipelineId: string, stageId: string, cursor: string, ownerId: string | null = null): Promise<Page<Deal>> {
  return named(
    unwrap(
      api.GET('/api/crm/pipelines/{pipeline_id}/stages/{stage_id}/deals', {
        params: { path: { pipeline_id: pipelineId, stage_id: stageId }, query: { cursor, owner_id: ownerId ?? undefined } },
      }),
    ) as Promise<Page<Deal>>,
    (page) => page.items,
  )
}

export interface DealQuery {
  pipeline_id?: string
  stage_id?: string
  status?: 'open' | 'won' | 'lost'
  owner_id?: string
  tag_id?: string
  q?: string
  sort?: string
  cursor?: string
  limit?: number
}

export function listDeals(query: DealQuery): Promise<Page<Deal>> {
  return named(unwrap(api.GET('/api/crm/deals', { params: { query } })) as Promise<Page<Deal>>, (page) => page.items)
}

export function getDeal(id: string): Promise<DealDetail> {
  return named(unwrap(api.GET('/api/crm/deals/{deal_id}', { params: { path: { deal_id: id } } })) as Promise<DealDetail>, (deal) => [deal])
}

export function createDeal(body: DealCreate): Promise<DealDetail> {
  return named(unwrap(api.POST('/api/crm/deals', { body })) as Promise<DealDetail>, (deal) => [deal])
}

export function updateDeal(id: string, body: DealUpdate): Promise<DealDetail> {
  return named(
    unwrap(api.PATCH('/api/crm/deals/{deal_id}', { params: { path: { deal_id: id } }, body })) as Promise<DealDetail>,
    (deal) => [deal],
  )
}

export function deleteDeal(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/crm/deals/{deal_id}', { params: { path: { deal_id: id } } })) as Promise<unknown>
}

export interface MoveBody {
  stage_id: string
  version: number
  position?: number | null
  before_id?: string | null
  after_id?: string | null
}

export function moveDeal(id: string, body: MoveBody): Promise<Deal> {
  return unwrap(api.POST('/api/crm/deals/{deal_id}/move', { params: { path: { deal_id: id } }, body })) as Promise<Deal>
}

export function winDeal(id: string, version: number): Promise<Deal> {
  return unwrap(api.POST('/api/crm/deals/{deal_id}/won', { params: { path: { deal_id: id } }, body: { version } })) as Promise<Deal>
}

export function loseDeal(id: string, version: number, reason: string): Promise<Deal> {
  return unwrap(api.POST('/api/crm/deals/{deal_id}/lost', { params: { path: { deal_id: id } }, body: { version, reason } })) as Promise<Deal>
}

export function reopenDeal(id: string, version: number): Promise<Deal> {
  return unwrap(api.POST('/api/crm/deals/{deal_id}/reopen', { params: { path: { deal_id: id } }, body: { version } })) as Promise<Deal>
}

export interface LeadQuery {
  status?: 'new' | 'qualified' | 'disqualified' | 'converted'
  owner_id?: string
  min_score?: number
  q?: string
  sort?: string
  cursor?: string
  limit?: number
}

export function listLeads(query: LeadQuery): Promise<Page<Lead>> {
  return unwrap(api.GET('/api/crm/leads', { params: { query } })) as Promise<Page<Lead>>
}

export function getLead(id: string): Promise<LeadDetail> {
  return unwrap(api.GET('/api/crm/leads/{lead_id}', { params: { path: { lead_id: id } } })) as Promise<LeadDetail>
}

export function updateLead(id: string, body: S['LeadUpdate']): Promise<LeadDetail> {
  return unwrap(api.PATCH('/api/crm/leads/{lead_id}', { params: { path: { lead_id: id } }, body })) as Promise<LeadDetail>
}

export function rescoreLead(id: string): Promise<LeadDetail> {
  return unwrap(api.POST('/api/crm/leads/{lead_id}/rescore', { params: { path: { lead_id: id } } })) as Promise<LeadDetail>
}

export function leadDuplicates(id: string): Promise<DuplicateRef[]> {
  return unwrap(api.GET('/api/crm/leads/{lead_id}/duplicates', { params: { path: { lead_id: id } } })) as Promise<DuplicateRef[]>
}

export function convertLead(id: string, body: LeadConvert): Promise<LeadConversion> {
  return unwrap(api.POST('/api/crm/leads/{lead_id}/convert', { params: { path: { lead_id: id } }, body })) as Promise<LeadConversion>
}

export type Activity = S['ActivityRead']

export function dealActivities(dealId: string): Promise<Page<Activity>> {
  return unwrap(api.GET('/api/activities', { params: { query: { entity_type: 'deal', entity_id: dealId, limit: 30 } } })) as Promise<Page<Activity>>
}
