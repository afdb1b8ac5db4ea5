/**
 * A small Markdown renderer for notes that is safe by construction: every piece of the user's text
 * is HTML-escaped before any tag is added, and the only tags added are a fixed list (p, br, strong,
 * em, del, code, pre, h3–h5, ul, ol, li, blockquote, hr, a). Links keep only http(s) and mailto
 * addresses. So the result can go into v-html without a sanitizer: there is no way to smuggle in a
 * tag, an attribute or a script URL. (The backend stores notes as written and renders nothing.)
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c])
}

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] ?? '',
  )
}

/** An address a link may point to, escaped for an attribute; null for anything else (javascript: …). */
export function safeHref(escaped: string): string | null {
  const raw = unescapeHtml(escaped).trim()
  if (!/^(https?:\/\/|mailto:)/i.test(raw)) return null
  if (/[\s<>"'`]/.test(raw)) return null
  return escapeHtml(raw)
}

function link(href: string, label: string): string {
  return `<a href="${href}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`
}

/** Inline Markdown of one line of *raw* text: code spans, links, bold, italic, strike, bare URLs. */
export function renderInline(raw: string): string {
  // Code spans first: their content is escaped and left alone by the other rules.
  const parts = raw.split(/(`[^`]+`)/g)
  return parts
    .map((part) => {
      if (/^`[^`]+`$/.test(part)) return `<code>${escapeHtml(part.slice(1, -1))}</code>`
      let html = escapeHtml(part)
      const links: string[] = []
      const keep = (value: string) => `\u0000${links.push(value) - 1}\u0000`
      // [label](address)
      html = html.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, label: string, address: string) => {
        const href = safeHref(address)
        return href ? keep(link(href, label)) : whole
      })
      // bare addresses
      html = html.replace(/\bhttps?:\/\/[^\s<]+[^\s<.,;:!?)\]'"&]/g, (address) => {
        const href = safeHref(address)
        return href ? keep(link(href, address)) : address
      })
      html = html
        .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, '<strong>$1</strong>')
        .replace(/(^|[^\w])__(?=\S)(.+?)(?<=\S)__(?!\w)/g, '$1<strong>$2</strong>')
        .replace(/(^|[^*\w])\*(?=\S)(.+?)(?<=\S)\*(?!\*)/g, '$1<em>$2</em>')
        .replace(/(^|[^_\w])_(?=\S)(.+?)(?<=\S)_(?!\w)/g, '$1<em>$2</em>')
        .replace(/~~(?=\S)(.+?)(?<=\S)~~/g, '<del>$1</del>')
      return html.replace(/\u0000(\d+)\u0000/g, (_, i: string) => links[Number(i)])
    })
    .join('')
}

/** Markdown → HTML (see the module comment for what is supported and why it is safe). */
export function renderMarkdown(source: string): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n')
  const out: string[] = []
  let paragraph: string[] = []
  let list: { type: 'ul' | 'ol'; items: string[] } | null = null
  let quote: string[] = []

  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map(renderInline).join('<br>')}</p>`)
    paragraph = []
  }
  const flushList = () => {
    if (list) out.push(`<${list.type}>${list.items.map((i) => `<li>${renderInline(i)}</li>`).join('')}</${list.type}>`)
    list = null
  }
  const flushQuote = () => {
    if (quote.length) out.push(`<blockquote>${renderMarkdown(quote.join('\n'))}</blockquote>`)
    quote = []
  }
  const flushAll = () => {
    flushParagraph()
    flushList()
    flushQuote()
  }

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (/^\s*```/.test(line)) {
      flushAll()
      const code: string[] = []
      i++
      while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++])
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`)
      continue
    }
    const quoted = /^\s*>\s?(.*)$/.exec(line)
    if (quoted) {
      flushParagraph()
      flushList()
      quote.push(quoted[1])
      continue
    }
    flushQuote()
    if (!line.trim()) {
      flushParagraph()
      flushList()
      continue
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line)
    if (heading) {
      flushAll()
      const level = Math.min(heading[1].length + 2, 5) // h3–h5: a note sits inside a page
      out.push(`<h${level}>${renderInline(heading[2].replace(/\s+#+\s*$/, ''))}</h${level}>`)
      continue
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flushAll()
      out.push('<hr>')
      continue
    }
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line)
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line)
    if (bullet || numbered) {
      flushParagraph()
      const type = bullet ? 'ul' : 'ol'
      if (list && list.type !== type) flushList()
      if (!list) list = { type, items: [] }
      list.items.push((bullet ?? numbered)![1])
      continue
    }
    if (list) {
      // a continuation line of the last item
      list.items[list.items.length - 1] += ` ${line.trim()}`
      continue
    }
    paragraph.push(line)
  }
  flushAll()
  return out.join('')
}

/** Plain text of a note for previews (first non-empty line, Markdown marks removed). */
export function excerpt(source: string, max = 140): string {
  const text = source
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/[#>*_`~]|\[([^\]]*)\]\([^)]*\)/g, (_match, label?: string) => label ?? '')
    .replace(/\s+/g, ' ')
    .trim()
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
