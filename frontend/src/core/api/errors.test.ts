import { afterEach, describe, expect, it, vi } from 'vitest'
import { errorMessage, fieldMessage, i18n, setLocale } from '@/core/i18n'
import { problem, scriptFetch } from '@/test/fetch'
import { api, unwrap } from './client'
import { ApiError, asApiError, toApiError } from './errors'

afterEach(() => {
  vi.unstubAllGlobals()
  setLocale('de')
})

describe('toApiError', () => {
  it('keeps code, detail and field errors of a problem+json body', () => {
    const err = toApiError(409, {
      type: 'https://xynap.dev/problems/email_taken',
      title: 'Conflict',
      status: 409,
      code: 'email_taken',
      detail: 'A user with the e-mail x exists.',
      errors: [{ field: 'email', message: 'already in use' }],
    })
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(409)
    expect(err.code).toBe('email_taken')
    expect(err.detail).toBe('A user with the e-mail x exists.')
    expect(err.fieldError('email')?.message).toBe('already in use')
    expect(err.fieldError('name')).toBeUndefined()
  })

  it("reads FastAPI's own validation shape (loc/msg/type)", () => {
    const err = toApiError(422, { detail: [{ loc: ['body', 'email'], msg: 'value is not a valid email', type: 'value_error' }] })
    expect(err.code).toBe('validation_error')
    expect(err.fieldError('email')).toEqual({ field: 'email', message: 'value is not a valid email', type: 'value_error', in: undefined })
  })

  it('falls back to a code by status for bodies that are not problems', () => {
    expect(toApiError(502, '<html>Bad gateway</html>').code).toBe('server_error')
    expect(toApiError(404, null).code).toBe('not_found')
    expect(toApiError(429, { message: 'slow down' }).code).toBe('rate_limited')
  })

  it('tells network failures from bugs', () => {
    expect(asApiError(new TypeError('Failed to fetch')).code).toBe('network_error')
    vi.spyOn(console, 'error').mockImplementation(() => {})
    expect(asApiError(new TypeError("Cannot read properties of undefined (reading 'x')")).code).toBe('client_error')
  })
})

describe('unwrap', () => {
  it('returns the data of a successful call', async () => {
    scriptFetch({ 'GET /api/health': { body: { status: 'ok', version: '1' } } })
    await expect(unwrap(api.GET('/api/health'))).resolves.toEqual({ status: 'ok', version: '1' })
  })

  it('throws an ApiError carrying the problem of a failed call', async () => {
    scriptFetch({
      'POST /api/users': problem(409, 'email_taken', { errors: [{ field: 'email', message: 'already in use' }] }),
    })
    const call = unwrap(api.POST('/api/users', { body: { email: 'a@b.de', name: 'A', role: 'staff', password: null, locale: 'de' } }))
    const err = await call.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('email_taken')
    expect((err as ApiError).fieldError('email')).toBeTruthy()
  })

  it('maps a failed connection to network_error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    const err = (await unwrap(api.GET('/api/health')).catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('network_error')
    expect(err.status).toBe(0)
  })
})

describe('translated messages', () => {
  it('translates by code, in the current language', () => {
    const err = toApiError(401, { code: 'invalid_credentials', status: 401 })
    expect(errorMessage(err)).toBe('E-Mail-Adresse oder Passwort stimmt nicht.')
    setLocale('en')
    expect(errorMessage(err)).toBe('E-mail address or password is wrong.')
  })

  it('fills parameters from the problem', () => {
    const err = toApiError(409, { code: 'plan_limit_users', status: 409, limit: 5 })
    expect(errorMessage(err)).toContain('5 aktive Benutzer')
  })

  it('falls back to the status for unknown codes, never showing raw English details', () => {
    const err = toApiError(409, { code: 'something_new', status: 409, detail: 'Raw english detail' })
    expect(errorMessage(err)).toBe(i18n.global.t('errors.status_409'))
    expect(errorMessage(toApiError(500, null))).toBe(i18n.global.t('errors.server_error'))
  })

  it('gives field messages by problem code, then by validation type', () => {
    const taken = toApiError(409, { code: 'email_taken', status: 409, errors: [{ field: 'email', message: 'already in use' }] })
    expect(fieldMessage(taken, 'email')).toBe('Diese E-Mail-Adresse wird bereits verwendet.')
    const invalid = toApiError(422, {
      code: 'validation_error',
      status: 422,
      errors: [{ field: 'name', message: 'String should have at least 1 character', type: 'string_too_short' }],
    })
    expect(fieldMessage(invalid, 'name')).toBe('Bitte ausfüllen.')
    expect(fieldMessage(invalid, 'email')).toBeNull()
  })
})
