/**
 * The pure parts of the contacts import wizard: which files are accepted, mapping checks, the
 * speed and time left of a running import, and downloads that need the login (exports, error CSV).
 */
import type { components } from '@/core/api/schema'
import { sessionFetch } from '@/core/api/client'
import { errorFromResponse } from '@/core/api/errors'

export type ContactImport = components['schemas']['ImportRead']
export type ImportStatus = ContactImport['status']
export type Mapping = Record<string, string | null>

/** The server refuses bodies above 10 MB (XYNAP_MAX_BODY_BYTES); say so before uploading. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024
const EXTENSIONS: Record<string, 'csv' | 'vcard'> = { csv: 'csv', txt: 'csv', tsv: 'csv', vcf: 'vcard', vcard: 'vcard' }
export const ACCEPT = '.csv,.txt,.tsv,.vcf,.vcard,text/csv,text/vcard'

export type FileProblem = 'type' | 'size' | 'empty'

/** Whether a picked or dropped file can be imported: by its extension (browsers' MIME types vary). */
export function checkFile(file: { name: string; size: number }, maxBytes = MAX_UPLOAD_BYTES): { format: 'csv' | 'vcard' } | { problem: FileProblem } {
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? ''
  const format = EXTENSIONS[ext]
  if (!format) return { problem: 'type' }
  if (file.size === 0) return { problem: 'empty' }
  if (file.size > maxBytes) return { problem: 'size' }
  return { format }
}

/** Targets chosen by more than one column (each field can take one column). */
export function duplicateTargets(mapping: Mapping): string[] {
  const seen = new Map<string, number>()
  for (const target of Object.values(mapping)) if (target) seen.set(target, (seen.get(target) ?? 0) + 1)
  return [...seen].filter(([, count]) => count > 1).map(([target]) => target)
}

/** A mapping imports something only if at least one column names a contact (a name, company or e-mail). */
export function mapsAName(mapping: Mapping): boolean {
  const targets = new Set(Object.values(mapping))
  return ['first_name', 'last_name', 'company_name', 'email.work', 'email.home', 'email.other'].some((t) => targets.has(t))
}

/** The mapping to start from: the server's suggestion, every column of the file listed. */
export function initialMapping(imp: Pick<ContactImport, 'header' | 'suggested_mapping'>): Mapping {
  const out: Mapping = {}
  for (const column of imp.header) out[column] = imp.suggested_mapping?.[column] ?? null
  return out
}

export function isActive(status: ImportStatus): boolean {
  return status === 'queued' || status === 'running'
}

export function isFinished(status: ImportStatus): boolean {
  return status === 'succeeded' || status === 'rejected' || status === 'failed'
}

/**
 * Rows per second over the last `windowMs` of progress samples, and the seconds left at that pace.
 * Fed with (time, rows done) from each status poll.
 */
export class RateMeter {
  private samples: { at: number; done: number }[] = []
  constructor(private readonly windowMs = 10_000) {}

  add(at: number, done: number): void {
    const last = this.samples.at(-1)
    if (last && done < last.done) this.samples = [] // a new phase (validate → insert) starts over
    this.samples.push({ at, done })
    while (this.samples.length > 2 && at - this.samples[0].at > this.windowMs) this.samples.shift()
  }

  /** Rows per second, or null before two samples with time between them. */
  rate(): number | null {
    if (this.samples.length < 2) return null
    const first = this.samples[0]
    const last = this.samples.at(-1)!
    const seconds = (last.at - first.at) / 1000
    if (seconds <= 0) return null
    return (last.done - first.done) / seconds
  }

  /** Seconds until `total` at the current rate, or null when unknown. */
  remaining(total: number): number | null {
    const rate = this.rate()
    const last = this.samples.at(-1)
    if (!rate || rate <= 0 || !last) return null
    return Math.max(0, (total - last.done) / rate)
  }

  reset(): void {
    this.samples = []
  }
}

/** "1:05" / "12 s" style time left; rounds up so it never says 0 while rows remain. */
export function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}:${String(s % 60).padStart(2, '0')} min`
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')} h`
}

// --- downloads that need the login -----------------------------------------------------------------

export type ExportFormat = 'csv' | 'xlsx' | 'vcf3' | 'vcf4'

export interface ExportFilters {
  q?: string | null
  type?: string | null
  tag?: string | null
  owner_id?: string | null
  /** A saved segment's id. */
  segment?: string | null
  /** Custom field filters: key → value (sent as cf.<key>=<value>). */
  cf?: Record<string, string> | null
  /** The list's sort (name, created_at, cf.<key>; - for descending): the file's rows come in that order. */
  sort?: string | null
}

/** The address of an export with the contact list's filters. */
export function exportUrl(format: ExportFormat, filters: ExportFilters = {}): string {
  const params = new URLSearchParams()
  for (const key of ['q', 'type', 'tag', 'owner_id', 'segment', 'sort'] as const) {
    const value = filters[key]
    if (value) params.set(key, value)
  }
  for (const [key, value] of Object.entries(filters.cf ?? {})) if (value) params.append(`cf.${key}`, value)
  if (format === 'vcf3') params.set('version', '3.0')
  if (format === 'vcf4') params.set('version', '4.0')
  const file = format === 'csv' ? 'export.csv' : format === 'xlsx' ? 'export.xlsx' : 'export.vcf'
  const query = params.toString()
  return `/api/contacts/${file}${query ? `?${query}` : ''}`
}

/** The file name the server proposes (Content-Disposition), else `fallback`. */
export function fileNameOf(response: Response, fallback: string): string {
  const header = response.headers.get('content-disposition') ?? ''
  const match = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(header)
  const name = match ? decodeURIComponent(match[1] ?? match[2]) : ''
  return name || fallback
}

/**
 * Download an API file with the access token (a plain link would go without it): fetch, then hand
 * the blob to the browser as a download. Throws an ApiError when the server refuses.
 */
export async function download(path: string, fallbackName: string): Promise<string> {
  const response = await sessionFetch(new Request(new URL(path, location.origin)))
  if (!response.ok) throw await errorFromResponse(response)
  const name = fileNameOf(response, fallbackName)
  const blob = await response.blob()
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.rel = 'noopener'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return name
}
