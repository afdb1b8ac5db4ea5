/** Server validation errors for a form: per-field messages and one form-level message. */
import { reactive, ref } from 'vue'
import { asApiError, type ApiError } from '@/core/api/errors'
import { errorMessage, fieldMessage } from '@/core/i18n'

/**
 * `codeFields` names the field a problem code belongs to when the server names none
 * (e.g. `{ tenant_exists: 'slug' }`): the translated code then shows at that field.
 */
export function useServerErrors(fields: readonly string[], codeFields: Record<string, string> = {}) {
  const byField = reactive<Record<string, string | null>>({})
  const form = ref<string | null>(null)

  function clear(): void {
    for (const key of Object.keys(byField)) byField[key] = null
    form.value = null
  }

  /** Show `err` at the fields it names; whatever names no known field goes to the form message. */
  function show(err: unknown): ApiError {
    const apiError = asApiError(err)
    clear()
    let placed = false
    for (const name of fields) {
      const message = fieldMessage(apiError, name)
      if (message) {
        byField[name] = message
        placed = true
      }
    }
    const target = codeFields[apiError.code]
    if (!placed && target && fields.includes(target)) {
      byField[target] = errorMessage(apiError)
      placed = true
    }
    if (!placed) form.value = errorMessage(apiError)
    return apiError
  }

  /** The first field (in `fields` order) that has a message. */
  function firstInvalid(): string | null {
    return fields.find((name) => byField[name]) ?? null
  }

  return { byField, form, clear, show, firstInvalid }
}
