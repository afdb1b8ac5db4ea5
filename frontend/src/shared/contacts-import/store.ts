/**
 * The import wizard's state: upload → mapping → dry run → import (a background job, polled) →
 * result. Kept in a store so that leaving the page and coming back finds the running import.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'
import { initialMapping, isActive, isFinished, RateMeter, type ContactImport, type Mapping } from './wizard'

export type ImportRowError = components['schemas']['ImportRowError']
const ERROR_PAGE = 200

export type Step = 'upload' | 'mapping' | 'validate' | 'run' | 'result'
export const STEPS: readonly Step[] = ['upload', 'mapping', 'validate', 'run', 'result']

const POLL_MS = 1000

export const useImportWizard = defineStore('shared.contactsImport', () => {
  const step = ref<Step>('upload')
  const current = ref<ContactImport | null>(null)
  const mapping = ref<Mapping>({})
  const skipInvalid = ref(true)
  const defaultType = ref<'person' | 'organization' | null>(null)
  /** The mapping the last dry run used (a changed mapping needs a new dry run). */
  const validatedWith = ref<string | null>(null)
  /** The row errors shown: the ones the import carries, plus pages loaded from …/errors. */
  const errors = ref<ImportRowError[]>([])
  const moreErrors = ref(false)
  const meter = new RateMeter()
  const rate = ref<number | null>(null)
  const remaining = ref<number | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  /** Overridable in tests. */
  const clock = { now: () => Date.now(), pollMs: POLL_MS }

  const isVcard = computed(() => current.value?.format === 'vcard')
  const mappingKey = computed(() => JSON.stringify([mapping.value, defaultType.value]))
  const validatedCurrent = computed(() => validatedWith.value === mappingKey.value)

  function adopt(imp: ContactImport): void {
    current.value = imp
    takeErrors(imp)
    if (imp.progress.phase) {
      meter.add(clock.now(), imp.progress.done)
      rate.value = meter.rate()
      remaining.value = meter.remaining(imp.progress.total)
    }
  }

  /** The import's own (first) errors; more can be paged in while the report has more lines. */
  function takeErrors(imp: ContactImport): void {
    errors.value = imp.errors
    moreErrors.value = imp.errors.length > 0 && (imp.errors.length < imp.invalid_rows || imp.errors.length >= 1000)
  }

  async function loadMoreErrors(): Promise<void> {
    if (!current.value) return
    // (typed loosely by openapi-fetch: the route answers JSON or, with format=csv, a CSV file)
    const page = (await unwrap(
      api.GET('/api/contacts/imports/{import_id}/errors', {
        params: { path: { import_id: current.value.id }, query: { offset: errors.value.length, limit: ERROR_PAGE } },
      }),
    )) as components['schemas']['ImportErrorPage']
    errors.value = [...errors.value, ...page.items]
    moreErrors.value = page.has_more
  }

  async function upload(file: File): Promise<ContactImport> {
    const imp = await unwrap(
      api.POST('/api/contacts/imports', {
        body: { file: file as unknown as string },
        bodySerializer: (body: { file: string | Blob }) => {
          const form = new FormData()
          form.append('file', body.file as Blob, file.name)
          return form
        },
      }),
    )
    stopPolling()
    meter.reset()
    current.value = imp
    takeErrors(imp)
    mapping.value = initialMapping(imp)
    validatedWith.value = null
    step.value = imp.format === 'vcard' ? 'validate' : 'mapping'
    return imp
  }

  function body() {
    return {
      mapping: isVcard.value ? null : mapping.value,
      default_type: defaultType.value,
    }
  }

  /** The dry run: every row is checked, nothing is imported. */
  async function validate(): Promise<ContactImport> {
    const id = current.value!.id
    const key = mappingKey.value
    const imp = await unwrap(api.POST('/api/contacts/imports/{import_id}/validate', { params: { path: { import_id: id } }, body: body() }))
    current.value = imp
    takeErrors(imp)
    validatedWith.value = key
    step.value = 'validate'
    return imp
  }

  async function run(): Promise<ContactImport> {
    const id = current.value!.id
    meter.reset()
    rate.value = remaining.value = null
    const imp = await unwrap(
      api.POST('/api/contacts/imports/{import_id}/run', {
        params: { path: { import_id: id } },
        body: { ...body(), skip_invalid: skipInvalid.value, default_tag_ids: [] },
      }),
    )
    adopt(imp)
    step.value = 'run'
    schedulePoll()
    return imp
  }

  /** One status request; moves on to the result when the job has finished. */
  async function poll(): Promise<ContactImport | null> {
    if (!current.value) return null
    const imp = await unwrap(api.GET('/api/contacts/imports/{import_id}', { params: { path: { import_id: current.value.id } } }))
    adopt(imp)
    if (isFinished(imp.status)) {
      step.value = 'result'
      stopPolling()
    }
    return imp
  }

  const pollError = ref<unknown>(null)
  function schedulePoll(): void {
    clearTimeout(timer)
    timer = setTimeout(async () => {
      try {
        const imp = await poll()
        pollError.value = null
        if (imp && isActive(imp.status)) schedulePoll()
      } catch (err) {
        pollError.value = err
        schedulePoll() // a network blip: keep asking
      }
    }, clock.pollMs)
  }

  function stopPolling(): void {
    clearTimeout(timer)
    timer = undefined
  }

  /** Continue an import by id (after a reload: ?id=… in the address). */
  async function resume(id: string): Promise<ContactImport> {
    const imp = await unwrap(api.GET('/api/contacts/imports/{import_id}', { params: { path: { import_id: id } } }))
    current.value = imp
    takeErrors(imp)
    mapping.value = Object.keys(imp.options?.mapping ?? {}).length ? (imp.options.mapping as Mapping) : initialMapping(imp)
    validatedWith.value = imp.dry_run ? mappingKey.value : null
    if (isActive(imp.status)) {
      step.value = 'run'
      schedulePoll()
    } else if (isFinished(imp.status) && !imp.dry_run) step.value = 'result'
    else if (imp.dry_run) step.value = 'validate'
    else step.value = imp.format === 'vcard' ? 'validate' : 'mapping'
    return imp
  }

  function reset(): void {
    stopPolling()
    meter.reset()
    step.value = 'upload'
    current.value = null
    errors.value = []
    moreErrors.value = false
    mapping.value = {}
    validatedWith.value = null
    rate.value = remaining.value = null
    skipInvalid.value = true
    defaultType.value = null
  }

  return {
    step,
    current,
    mapping,
    skipInvalid,
    defaultType,
    validatedCurrent,
    isVcard,
    rate,
    remaining,
    pollError,
    clock,
    errors,
    moreErrors,
    loadMoreErrors,
    upload,
    validate,
    run,
    poll,
    resume,
    reset,
    stopPolling,
  }
})
