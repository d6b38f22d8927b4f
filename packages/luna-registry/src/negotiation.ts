function quality (accept: string, type: string): number {
  const [major] = type.split('/')
  let best = 0
  let bestSpecificity = -1
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';')
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1
    if (specificity <= bestSpecificity) continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const value = q === undefined ? 1 : Number(q.slice(2))
    best = Number.isFinite(value) ? value : 0
    bestSpecificity = specificity
  }
  return best
}

/**
 * Whether an `Accept` header ranks HTML above JSON. Browsers list `text/html` first; `curl`,
 * `fetch` and most clients accept any type or send no header, and get JSON.
 */
export function prefersHtml (accept: string | undefined): boolean {
  if (accept === undefined) return false
  return quality(accept, 'text/html') > quality(accept, 'application/json')
}
