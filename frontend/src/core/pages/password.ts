/** Password rules the forms check before asking the server (which has the last word). */
export const MIN_PASSWORD = 10

/** 0 weak … 3 strong: length and variety, a hint only. */
export function passwordStrength(value: string): 0 | 1 | 2 | 3 {
  if (value.length < MIN_PASSWORD) return 0
  let kinds = 0
  if (/[a-z]/.test(value)) kinds++
  if (/[A-Z]/.test(value)) kinds++
  if (/\d/.test(value)) kinds++
  if (/[^A-Za-z0-9]/.test(value)) kinds++
  if (value.length >= 16 && kinds >= 3) return 3
  if (value.length >= 12 && kinds >= 2) return 2
  return 1
}
