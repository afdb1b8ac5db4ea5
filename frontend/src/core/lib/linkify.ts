/** Split plain text into text and link pieces (http/https only), for rendering without v-html. */
export interface Piece {
  text: string
  href?: string
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/g

export function linkify(text: string): Piece[] {
  const out: Piece[] = []
  let last = 0
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0]
    // a sentence's closing punctuation is not part of the address
    const trail = /[.,;:!?)\]]+$/.exec(url)
    if (trail) url = url.slice(0, -trail[0].length)
    const start = match.index ?? 0
    if (start > last) out.push({ text: text.slice(last, start) })
    out.push({ text: url, href: url })
    last = start + url.length
  }
  if (last < text.length) out.push({ text: text.slice(last) })
  return out
}
