/** Server validation errors for a form: per-field messages and one form-level message. */
import { reactive, ref } from 'vue'
import { asApiError, type ApiError } from '@/core/api/errors'
import { errorMessage, fieldMessage } from '@/core/i18n'

export function useServerErrors(fields: readonly string[]) {
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
    if (!placed) form.value = errorMessage(apiError)
    return apiError
  }

  return { byField, form, clear, show }
}
