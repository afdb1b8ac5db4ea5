/**
 * The calls of the CRM settings pages (pipelines and stages, scoring rules, lead settings, web forms),
 * typed by the generated schema. Errors come back as ApiError (problem+json), like everywhere.
 */
import { api, sessionFetch, unwrap } from '@/core/api/client'
import { asApiError, errorFromResponse } from '@/core/api/errors'
import type { components } from '@/core/api/schema'

type S = components['schemas']
export type Pipeline = S['PipelineRead']
export type PipelineCreate = S['PipelineCreate']
export type PipelineUpdate = S['PipelineUpdate']
export type Stage = S['StageRead']
export type StageCreate = S['StageCreate']
export type StageUpdate = S['StageUpdate']
export type ScoreRule = S['ScoreRuleRead']
export type ScoreRuleCreate = S['ScoreRuleCreate']
export type ScoreRuleUpdate = S['ScoreRuleUpdate']
export type LeadSettings = S['LeadSettingsRead']
export type LeadSettingsWrite = S['LeadSettingsWrite']
export type RoutingRule = S['RoutingRule']
export type LeadForm = S['FormRead']
export type LeadFormCreate = S['FormCreate']
export type LeadFormUpdate = S['FormUpdate']
export type Tag = S['TagRead']

export interface Person {
  id: string
  name: string
}

// --- pipelines and stages ---------------------------------------------------------------------------

export function listPipelines(): Promise<Pipeline[]> {
  return unwrap(api.GET('/api/crm/pipelines'))
}

export function createPipeline(body: PipelineCreate): Promise<Pipeline> {
  return unwrap(api.POST('/api/crm/pipelines', { body }))
}

export function updatePipeline(id: string, body: PipelineUpdate): Promise<Pipeline> {
  return unwrap(api.PATCH('/api/crm/pipelines/{pipeline_id}', { params: { path: { pipeline_id: id } }, body }))
}

export function deletePipeline(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/crm/pipelines/{pipeline_id}', { params: { path: { pipeline_id: id } } }))
}

export function createStage(pipelineId: string, body: StageCreate): Promise<Stage> {
  return unwrap(api.POST('/api/crm/pipelines/{pipeline_id}/stages', { params: { path: { pipeline_id: pipelineId } }, body }))
}

export function updateStage(pipelineId: string, stageId: string, body: StageUpdate): Promise<Stage> {
  return unwrap(
    api.PATCH('/api/crm/pipelines/{pipeline_id}/stages/{stage_id}', {
      params: { path: { pipeline_id: pipelineId, stage_id: stageId } },
      body,
    }),
  )
}

export function deleteStage(pipelineId: string, stageId: string): Promise<unknown> {
  return unwrap(
    api.DELETE('/api/crm/pipelines/{pipeline_id}/stages/{stage_id}', {
      params: { path: { pipeline_id: pipelineId, stage_id: stageId } },
    }),
  )
}

export function reorderStages(pipelineId: string, stageIds: string[]): Promise<Stage[]> {
  return unwrap(
    api.PUT('/api/crm/pipelines/{pipeline_id}/stage-order', {
      params: { path: { pipeline_id: pipelineId } },
      body: { stage_ids: stageIds },
    }),
  )
}

// --- scoring ------------------------------------------------------------------------------------------

export function listRules(): Promise<ScoreRule[]> {
  return unwrap(api.GET('/api/crm/score-rules'))
}

export function createRule(body: ScoreRuleCreate): Promise<ScoreRule> {
  return unwrap(api.POST('/api/crm/score-rules', { body }))
}

export function updateRule(id: string, body: ScoreRuleUpdate): Promise<ScoreRule> {
  return unwrap(api.PATCH('/api/crm/score-rules/{score_rule_id}', { params: { path: { score_rule_id: id } }, body }))
}

export function deleteRule(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/crm/score-rules/{score_rule_id}', { params: { path: { score_rule_id: id } } }))
}

/** The company's latest background rescoring (queued after a rule change), or null when there was none. */
export type RescoreProgress = S['RescoreStatus']

export async function getRescoring(): Promise<RescoreProgress | null> {
  return (await unwrap(api.GET('/api/crm/score-rules/rescoring'))) ?? null
}

// --- lead settings (threshold + routing) --------------------------------------------------------------

export function getLeadSettings(): Promise<LeadSettings> {
  return unwrap(api.GET('/api/crm/lead-settings'))
}

export function putLeadSettings(body: LeadSettingsWrite): Promise<LeadSettings> {
  return unwrap(api.PUT('/api/crm/lead-settings', { body }))
}

// --- web forms ----------------------------------------------------------------------------------------

export function listForms(): Promise<LeadForm[]> {
  return unwrap(api.GET('/api/crm/lead-forms'))
}

export function createForm(body: LeadFormCreate): Promise<LeadForm> {
  return unwrap(api.POST('/api/crm/lead-forms', { body }))
}

export function updateForm(id: string, body: LeadFormUpdate): Promise<LeadForm> {
  return unwrap(api.PATCH('/api/crm/lead-forms/{form_id}', { params: { path: { form_id: id } }, body }))
}

export function deleteForm(id: string): Promise<unknown> {
  return unwrap(api.DELETE('/api/crm/lead-forms/{form_id}', { params: { path: { form_id: id } } }))
}

async function getRaw(path: string, accept: string): Promise<Response> {
  let response: Response
  try {
    response = await sessionFetch(new Request(new URL(path, location.origin).toString(), { headers: { Accept: accept } }))
  } catch (err) {
    throw asApiError(err)
  }
  if (!response.ok) throw await errorFromResponse(response)
  return response
}

/** The HTML snippet the server renders for a form (public route; HTML, not JSON). */
export async function fetchEmbed(formKey: string): Promise<string> {
  return (await getRaw(`/api/crm/public/forms/${encodeURIComponent(formKey)}/embed`, 'text/html')).text()
}

// --- people and tags for the pickers ------------------------------------------------------------------

export async function listPeople(): Promise<Person[]> {
  const page = await unwrap(api.GET('/api/users', { params: { query: { limit: 200 } } }))
  return page.items.filter((u) => u.is_active).map((u) => ({ id: u.id, name: u.name }))
}

export function listTags(): Promise<Tag[]> {
  return unwrap(api.GET('/api/tags'))
}
