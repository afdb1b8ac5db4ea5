/** Which state the rescoring after a rule change is in, from the latest job the server reports. */
import type { RescoreProgress } from './api'

export type RescorePhase = 'waiting' | 'running' | 'done' | 'failed'

/**
 * `since` is when this page changed a rule (ms). No job yet, or only one that finished before the
 * change: still waiting for ours. A job that finished after the change covers it.
 */
export function rescorePhase(job: RescoreProgress | null, since: number, slackMs = 5000): RescorePhase {
  if (!job) return 'waiting'
  if (job.status === 'queued') return 'waiting'
  if (job.status === 'running') return 'running'
  const finished = job.finished_at ? Date.parse(job.finished_at) : NaN
  // clocks of browser and server differ a little: a job that finished just before counts as ours
  if (Number.isFinite(finished) && finished < since - slackMs) return 'waiting'
  return job.status === 'succeeded' ? 'done' : 'failed'
}
