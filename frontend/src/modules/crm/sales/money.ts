/**
 * Exact money arithmetic on decimal strings (two decimals, as the API sends them): amounts become
 * integer cents in a BigInt, so adding many values never picks up float errors. Sums are kept per
 * currency and never added across currencies.
 */
export interface Amount {
  currency: string
  value: string
}

/** "1234.5" → 123450n cents; anything unparsable counts as 0. */
export function toCents(value: string | number): bigint {
  const text = String(value).trim()
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text)
  if (!match) return 0n
  const [, sign, whole, frac = ''] = match
  // Half-up on the third decimal (item totals are already rounded by the server).
  const cents = BigInt((whole || '0') + (frac + '00').slice(0, 2))
  const rounded = Number(frac[2] ?? '0') >= 5 ? cents + 1n : cents
  return sign ? -rounded : rounded
}

export function fromCents(cents: bigint): string {
  const negative = cents < 0n
  const abs = negative ? -cents : cents
  const text = `${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
  return negative ? `-${text}` : text
}

/** Add `delta` (sign +1/-1) of `value` to the sum of `currency`; a sum that reaches zero disappears. */
export function addToSums(sums: Amount[], currency: string, value: string, sign: 1 | -1 = 1): Amount[] {
  const out = sums.map((s) => ({ ...s }))
  const entry = out.find((s) => s.currency === currency)
  const delta = toCents(value) * BigInt(sign)
  if (entry) entry.value = fromCents(toCents(entry.value) + delta)
  else out.push({ currency, value: fromCents(delta) })
  return out.filter((s) => toCents(s.value) !== 0n).sort((a, b) => a.currency.localeCompare(b.currency))
}

/** value × probability / 100, half-up to cents (as the server's weighted sums). */
export function weightedValue(value: string, probability: number): string {
  const scaled = toCents(value) * BigInt(Math.round(probability))
  const whole = scaled / 100n
  const rest = scaled % 100n
  return fromCents(rest * 2n >= 100n ? whole + 1n : whole)
}

/** Totals per currency of a list of amounts, sorted by currency. */
export function sumByCurrency(items: Amount[]): Amount[] {
  let sums: Amount[] = []
  for (const item of items) sums = addToSums(sums, item.currency, item.value)
  return sums
}
