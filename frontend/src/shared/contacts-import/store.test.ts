import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { json, problem, scriptFetch } from '@/test/fetch'
import { useImportWizard } from './store'
import type { ContactImport } from './wizard'

function imp(over: Partial<ContactImport> = {}): ContactImport {
  return {
    id: 'i1',
    status: 'uploaded',
    format: 'csv',
    filename: 'kunden.csv',
    size_bytes: 100,
    encoding: 'utf-8',
    delimiter: ';',
    header: ['Vorname', 'Nachname', 'E-Mail'],
    preview: [['Anna', 'Muster', 'anna@example.com']],
    suggested_mapping: { Vorname: 'first_name', Nachname: 'last_name', 'E-Mail': 'email.work' },
    targets: { first_name: 'Vorname / First name', last_name: 'Nachname / Last name', 'email.work': 'E-Mail' },
    options: {},
    progress: { phase: '', done: 0, total: 3, percent: 0 },
    total_rows: 3,
    valid_rows: 0,
    invalid_rows: 0,
    imported_rows: 0,
    dry_run: false,
    errors: [],
    message: '',
    job_id: null,
    created_by: null,
    created_at: '2026-11-22T00:00:00Z',
    finished_at: null,
    ...over,
  }
}

beforeEach(() => setActivePinia(createPinia()))

/** scriptFetch reads bodies as JSON; the upload is multipart, so it is answered here first. */
function withUpload(answer: ContactImport, routes: Parameters<typeof scriptFetch>[0] = {}) {
  const scripted = scriptFetch(routes)
  const uploads: FormData[] = []
  vi.stubGlobal('fetch', async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init)
    if (request.method === 'POST' && new URL(request.url).pathname === '/api/contacts/imports') {
      uploads.push(await request.formData())
      return new Response(JSON.stringify(answer), { status: 201, headers: { 'content-type': 'application/json' } })
    }
    return scripted.fetchMock(request)
  })
  return { ...scripted, uploads }
}
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('import wizard store', () => {
  it('uploads as multipart and takes the suggested mapping', async () => {
    const { uploads } = withUpload(imp())
    const wizard = useImportWizard()
    await wizard.upload(new File(['Vorname;Nachname\nAnna;Muster\n'], 'kunden.csv', { type: 'text/csv' }))
    expect((uploads[0].get('file') as File).name).toBe('kunden.csv')
    expect(wizard.step).toBe('mapping')
    expect(wizard.mapping).toEqual({ Vorname: 'first_name', Nachname: 'last_name', 'E-Mail': 'email.work' })
  })

  it('a vCard file skips the mapping step', async () => {
    withUpload(imp({ format: 'vcard', header: [], suggested_mapping: {} }))
    const wizard = useImportWizard()
    await wizard.upload(new File(['BEGIN:VCARD'], 'a.vcf'))
    expect(wizard.step).toBe('validate')
  })

  it('dry run with the mapping, then a run that is polled until it is done', async () => {
    vi.useFakeTimers()
    const polls = [
      imp({ status: 'running', progress: { phase: 'insert', done: 1, total: 3, percent: 33.3 } }),
      imp({ status: 'running', progress: { phase: 'insert', done: 2, total: 3, percent: 66.7 } }),
      imp({ status: 'succeeded', imported_rows: 2, invalid_rows: 1, valid_rows: 2, progress: { phase: 'done', done: 3, total: 3, percent: 100 } }),
    ]
    const { calls } = withUpload(imp(), {
      'POST /api/contacts/imports/i1/validate': json(200, imp({ dry_run: true, valid_rows: 2, invalid_rows: 1, errors: [{ line: 3, field: 'email.work', column: 'E-Mail', message: 'bad', value: 'x' }] })),
      'POST /api/contacts/imports/i1/run': json(202, imp({ status: 'queued' })),
      'GET /api/contacts/imports/i1': polls.map((body) => json(200, body)),
    })
    const wizard = useImportWizard()
    let now = 0
    wizard.clock.now = () => now
    await wizard.upload(new File(['x'], 'kunden.csv'))
    wizard.mapping['E-Mail'] = null
    wizard.mapping['E-Mail'] = 'email.work'
    await wizard.validate()
    expect(wizard.step).toBe('validate')
    expect(wizard.validatedCurrent).toBe(true)
    expect(calls.at(-1)!.body).toEqual({ mapping: { Vorname: 'first_name', Nachname: 'last_name', 'E-Mail': 'email.work' }, default_type: null })
    wizard.mapping.Vorname = null
    expect(wizard.validatedCurrent).toBe(false)
    wizard.mapping.Vorname = 'first_name'

    await wizard.run()
    expect(calls.at(-1)!.body).toMatchObject({ skip_invalid: true })
    expect(wizard.step).toBe('run')
    now = 1000
    await vi.advanceTimersByTimeAsync(1000)
    now = 2000
    await vi.advanceTimersByTimeAsync(1000)
    expect(wizard.current!.progress.done).toBe(2)
    expect(wizard.rate).toBe(1)
    expect(wizard.remaining).toBe(1)
    now = 3000
    await vi.advanceTimersByTimeAsync(1000)
    expect(wizard.step).toBe('result')
    expect(wizard.current!.imported_rows).toBe(2)
    await vi.advanceTimersByTimeAsync(5000)
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(3) // polling stopped
  })

  it('keeps polling through a network error', async () => {
    vi.useFakeTimers()
    scriptFetch({
      'POST /api/contacts/imports/i1/run': json(202, imp({ status: 'queued' })),
      'GET /api/contacts/imports/i1': [problem(503, 'server_error'), json(200, imp({ status: 'failed', message: 'boom' }))],
    })
    const wizard = useImportWizard()
    wizard.current = imp()
    await wizard.run()
    await vi.advanceTimersByTimeAsync(1000)
    expect(wizard.pollError).not.toBeNull()
    await vi.advanceTimersByTimeAsync(1000)
    expect(wizard.step).toBe('result')
    expect(wizard.pollError).toBeNull()
  })

  it('resumes an import by id at the right step', async () => {
    vi.useFakeTimers()
    scriptFetch({ 'GET /api/contacts/imports/i1': json(200, imp({ status: 'succeeded', imported_rows: 3 })) })
    const wizard = useImportWizard()
    await wizard.resume('i1')
    expect(wizard.step).toBe('result')
  })
})

describe('error report paging', () => {
  it('pages in more row errors from …/errors', async () => {
    const first = Array.from({ length: 1000 }, (_, i) => ({ line: i + 2, field: 'email.work', column: 'E-Mail', message: 'bad', value: '' }))
    const { calls } = scriptFetch({
      'GET /api/contacts/imports/i1': json(200, imp({ dry_run: true, invalid_rows: 1001, errors: first })),
      'GET /api/contacts/imports/i1/errors': json(200, { items: [{ line: 1002, field: 'email.work', column: 'E-Mail', message: 'bad', value: '' }], offset: 1000, limit: 200, has_more: false }),
    })
    const wizard = useImportWizard()
    await wizard.resume('i1')
    expect(wizard.step).toBe('validate')
    expect(wizard.moreErrors).toBe(true)
    await wizard.loadMoreErrors()
    expect(calls.at(-1)!.path).toBe('/api/contacts/imports/i1/errors?offset=1000&limit=200')
    expect(wizard.errors).toHaveLength(1001)
    expect(wizard.moreErrors).toBe(false)
  })
})
