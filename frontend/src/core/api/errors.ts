/**
 * Errors of the API: RFC 9457 problem+json bodies with a stable `code`, mapped to one ApiError
 * type the screens can show (translated by code, with per-field messages).
 */

/** One field's complaint, as the backend lists it in `errors`. */
export interface FieldError {
  field: string
  message: string
  type?: string
  in?: string
}

/** The problem+json body (the OpenAPI document does not describe it, so it is declared here). */
export interface Problem {
  type?: string
  title?: string
  status: number
  code: string
  detail?: string
  errors?: FieldError[]
  [extra: string]: unknown
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_error',
  429: 'rate_limited',
}

export function codeForStatus(status: number): string {
  if (status === 0) return 'network_error'
  if (status >= 500) return 'server_error'
  return STATUS_CODES[status] ?? 'http_error'
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly fieldErrors: FieldError[]
  readonly problem: Problem | null

  constructor(status: number, code: string, detail = '', fieldErrors: FieldError[] = [], problem: Problem | null = null) {
    super(detail || code)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.detail = detail
    this.fieldErrors = fieldErrors
    this.problem = problem
  }

  /** The first complaint about `field` (dotted path as the backend names it), if any. */
  fieldError(field: string): FieldError | undefined {
    return this.fieldErrors.find((e) => e.field === field)
  }

  get isNetwork(): boolean {
    return this.status === 0
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function normalizeFieldErrors(raw: unknown): FieldError[] {
  if (!Array.isArray(raw)) return []
  const out: FieldError[] = []
  for (const item of raw) {
    if (!isRecord(item)) continue
    let field = typeof item.field === 'string' ? item.field : ''
    // FastAPI's own shape: {loc: ["body", "email"], msg, type}
    if (!field && Array.isArray(item.loc)) {
      const loc = item.loc.map(String)
      field = loc.length > 1 ? loc.slice(1).join('.') : (loc[0] ?? '')
    }
    const message = typeof item.message === 'string' ? item.message : typeof item.msg === 'string' ? item.msg : ''
    out.push({
      field,
      message,
      type: typeof item.type === 'string' ? item.type : undefined,
      in: typeof item.in === 'string' ? item.in : undefined,
    })
  }
  return out
}

/** Turn a response status and its (parsed) body into an ApiError; any body shape is accepted. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isRecord(body)) {
    const code = typeof body.code === 'string' && body.code ? body.code : codeForStatus(status)
    const detail =
      typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : ''
    const fieldErrors = normalizeFieldErrors(body.errors ?? (Array.isArray(body.detail) ? body.detail : undefined))
    const problem: Problem = { ...body, status, code } as Problem
    return new ApiError(status, code, detail, fieldErrors, problem)
  }
  const detail = typeof body === 'string' ? body.slice(0, 500) : ''
  return new ApiError(status, codeForStatus(status), detail)
}

/** Read the body of a failed response (JSON or text) and map it. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    const text = await response.text()
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      body = text
    }
  } catch {
    body = null
  }
  return toApiError(response.status, body)
}

/** Anything thrown while talking to the API, as an ApiError (fetch failures become network_error). */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  if (err instanceof DOMException && err.name === 'AbortError') return new ApiError(0, 'aborted', 'aborted')
  const message = err instanceof Error ? err.message : String(err)
  // fetch() rejects with a TypeError when the server cannot be reached; other errors are bugs here.
  if (err instanceof TypeError && /fetch|network|load failed/i.test(message)) {
    return new ApiError(0, 'network_error', message)
  }
  console.error(err)
  return new ApiError(-1, 'client_error', message)
}
