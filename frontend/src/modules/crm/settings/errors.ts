/** Messages for problems of the CRM settings routes: the module's own codes first, then the shared ones. */
import { asApiError, type ApiError } from '@/core/api/errors'
import { errorMessage, fieldMessage, i18n } from '@/core/i18n'

export function settingsError(err: unknown): string {
  const apiError = asApiError(err)
  const te = i18n.global.te as (key: string) => boolean
  const t = i18n.global.t as (key: string) => string
  const key = `mod.crm.settings.errors.${apiError.code}`
  return te(key) ? t(key) : errorMessage(apiError)
}

/** The server's complaint about `field` in the user's language (or null). */
export function fieldProblem(err: ApiError | null, field: string): string | null {
  return err ? fieldMessage(err, field) : null
}
