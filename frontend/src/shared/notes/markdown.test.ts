import { describe, expect, it } from 'vitest'
import { excerpt, renderInline, renderMarkdown, safeHref } from './markdown'

describe('note markdown', () => {
  it('renders the usual marks', () => {
    expect(renderMarkdown('# Title\n\nSome **bold**, *italic*, ~~gone~~ and `code`.')).toBe(
      '<h3>Title</h3><p>Some <strong>bold</strong>, <em>italic</em>, <del>gone</del> and <code>code</code>.</p>',
    )
    expect(renderMarkdown('- one\n- two\n\n1. first\n2. second')).toBe('<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>')
    expect(renderMarkdown('> quoted\n\nline one\nline two')).toBe('<blockquote><p>quoted</p></blockquote><p>line one<br>line two</p>')
    expect(renderMarkdown('```\n<b>x</b>\n```')).toBe('<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>')
    expect(renderMarkdown('---')).toBe('<hr>')
    expect(renderInline('__bold__ but snake__case__words and my_var_name')).toBe('<strong>bold</strong> but snake__case__words and my_var_name')
  })

  it('renders links with safe addresses only', () => {
    expect(renderInline('[Docs](https://example.com/a?b=1&c=2)')).toBe(
      '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">Docs</a>',
    )
    expect(renderInline('see https://example.com.')).toBe(
      'see <a href="https://example.com" target="_blank" rel="noopener noreferrer nofollow">https://example.com</a>.',
    )
    expect(renderInline('[x](javascript:alert(1))')).not.toContain('<a')
    expect(safeHref('javascript:alert(1)')).toBeNull()
    expect(safeHref('mailto:a@b.example')).toBe('mailto:a@b.example')
  })

  it('never lets HTML through', () => {
    const nasty = [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '[a](https://x.example" onmouseover="alert(1))',
      '**<svg onload=alert(1)>**',
      '`</code><script>`',
      '> <iframe src="javascript:alert(1)">',
      '- <a href="javascript:alert(1)">x</a>',
    ]
    for (const source of nasty) {
      const html = renderMarkdown(source)
      const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html')
      const tags = [...doc.body.querySelectorAll('*')].map((el) => el.tagName.toLowerCase())
      expect(tags.every((tag) => ['div', 'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a'].includes(tag))).toBe(true)
      for (const el of doc.body.querySelectorAll('*')) {
        for (const attr of el.getAttributeNames()) expect(['href', 'target', 'rel']).toContain(attr)
        const href = el.getAttribute('href')
        if (href) expect(href).toMatch(/^(https?:|mailto:)/)
      }
    }
  })

  it('makes a plain excerpt', () => {
    expect(excerpt('# Hello\n\n**World** and [link](https://x.example)')).toBe('Hello World and link')
    expect(excerpt('x'.repeat(200), 10)).toHaveLength(10)
  })
})
