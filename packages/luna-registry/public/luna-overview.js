// The overview: one row per service, from the stream of service summaries
// ({prefix}/events?view=summary). Only a page of rows is in the document at once; the filter,
// the sorting and the paging work over every service.
import { badge, batched, byId, h, now, prefix, versionChips } from './luna-dom.js'
import { downFirst, exact, shorten, since } from './luna-format.js'

/** Rows in the document at once: as the server renders the first page. */
const PAGE_SIZE = 100

const collator = new Intl.Collator('en', { numeric: true })

/** The orders a header offers, each ascending; the same header again turns it round. */
const ORDERS = {
  status: (a, b) => downFirst(a.summary.status, a.name, b.summary.status, b.name),
  name: (a, b) => collator.compare(a.name, b.name),
  instances: (a, b) => a.summary.total - b.summary.total || a.summary.online - b.summary.online || collator.compare(a.name, b.name)
}
const CAPTIONS = { status: 'DOWN first', name: 'by name', instances: 'by number of instances' }

export function overview () {
  const table = byId('services')
  const tbody = table.tBodies[0]
  const caption = table.caption
  const wrap = byId('services-wrap')
  const empty = byId('empty')
  const filter = byId('filter')
  const shown = byId('shown')
  const noMatch = byId('no-match')
  const pager = byId('pager')
  const pageAt = byId('page-at')
  const previous = byId('page-prev')
  const next = byId('page-next')
  /** name → { name, summary, signature, haystack, row } */
  const services = new Map()
  let query = ''
  let sort = 'status'
  let descending = false
  let page = 0
  /** Every service in the current order, made again only when an order can have changed. */
  let ordered
  // `?status=UP` or `?status=DOWN` lists only those, as the server did.
  const only = new URLSearchParams(window.location.search).get('status')

  const haystackOf = (summary) =>
    [summary.name, summary.status, ...summary.versions.map((v) => v.version), summary.description].join(' ').toLowerCase()

  const signatureOf = (summary) => JSON.stringify(summary)

  /** What a row the server rendered shows, as the stream says it: such a row is kept as it is. */
  const read = (row) => {
    const [name, status, numbers, versions, description] = row.cells
    const [online, total] = numbers.textContent.split(' / ').map(Number)
    const chips = [...versions.children]
    const down = status.querySelector('time.for')
    const summary = {
      name: name.textContent,
      status: row.classList.contains('down') ? 'DOWN' : 'UP',
      online,
      total,
      versions: chips.map((chip) => {
        const count = chip.querySelector('.count')
        return count === null
          ? { version: chip.textContent, count: total }
          : { version: chip.firstChild.nodeValue.slice(0, -1), count: Number(count.textContent.slice(1)) }
      }),
      description: description.textContent
    }
    if (down !== null) summary.downSince = down.dateTime
    return summary
  }

  const fill = (row, summary) => {
    row.dataset.service = summary.name
    row.classList.toggle('down', summary.status === 'DOWN')
    const status = h('td', {}, badge(summary.status))
    if (summary.downSince !== undefined) {
      status.append(' ', h('time', { class: 'for', datetime: summary.downSince, title: `Down since ${exact(summary.downSince)}` },
        `for ${since(now() - Date.parse(summary.downSince))}`))
    }
    row.replaceChildren(
      h('th', { scope: 'row' }, h('a', { href: `${prefix}/services/${encodeURIComponent(summary.name)}` }, summary.name)),
      status,
      h('td', { class: 'num' }, `${summary.online} / ${summary.total}`),
      h('td', { class: 'versions' }, ...versionChips(summary.versions)),
      h('td', { class: 'description' }, summary.description)
    )
  }

  for (const row of [...tbody.rows]) {
    const summary = read(row)
    services.set(summary.name, { name: summary.name, summary, signature: signatureOf(summary), haystack: haystackOf(summary), row })
  }

  /** Takes in a service's summary; a summary of no instances removes the service. */
  const take = (incoming) => {
    const entry = services.get(incoming.name)
    if (incoming.total === 0) {
      if (entry !== undefined) {
        services.delete(incoming.name)
        ordered = undefined
      }
      return
    }
    const summary = { ...incoming, description: shorten(incoming.description) }
    const signature = signatureOf(summary)
    if (entry === undefined) {
      services.set(summary.name, { name: summary.name, summary, signature, haystack: haystackOf(summary), row: undefined })
      ordered = undefined
      return
    }
    if (entry.signature === signature) return
    if (entry.summary.status !== summary.status || entry.summary.total !== summary.total || entry.summary.online !== summary.online) ordered = undefined
    entry.summary = summary
    entry.signature = signature
    entry.haystack = haystackOf(summary)
    // Built again when it is next shown.
    entry.stale = true
  }

  const matches = (entry) => (only === null || entry.summary.status === only) && (query === '' || entry.haystack.includes(query))

  const refreshTotals = () => {
    let up = 0
    let down = 0
    let online = 0
    let total = 0
    for (const { summary } of services.values()) {
      if (summary.status === 'UP') up++
      else down++
      online += summary.online
      total += summary.total
    }
    byId('total-up').textContent = String(up)
    byId('total-down').textContent = String(down)
    byId('total-down-card').classList.toggle('alert', down > 0)
    byId('total-instances').textContent = `${online} / ${total}`
    empty.hidden = services.size > 0
    wrap.hidden = services.size === 0
  }

  /** The page of rows in the document, as the order, the filter and the page say. */
  const render = () => {
    if (ordered === undefined) {
      ordered = [...services.values()].sort(ORDERS[sort])
      if (descending) ordered.reverse()
    }
    const matching = query === '' && only === null ? ordered : ordered.filter(matches)
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE))
    page = Math.min(page, pages - 1)
    const start = page * PAGE_SIZE
    const rows = []
    for (const entry of matching.slice(start, start + PAGE_SIZE)) {
      if (entry.row === undefined) {
        entry.row = h('tr')
        fill(entry.row, entry.summary)
      } else if (entry.stale === true) {
        fill(entry.row, entry.summary)
      }
      entry.stale = false
      rows.push(entry.row)
    }
    // Moves only the rows out of place, and leaves the others alone.
    const wanted = new Set(rows)
    for (const row of [...tbody.rows]) if (!wanted.has(row)) row.remove()
    rows.forEach((row, index) => {
      if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] ?? null)
    })
    const narrowed = query !== '' || only !== null
    shown.textContent = narrowed ? `${matching.length} of ${services.size} shown` : ''
    noMatch.hidden = !narrowed || matching.length > 0 || services.size === 0
    pager.hidden = matching.length <= PAGE_SIZE
    pageAt.textContent = `${start + 1}–${start + rows.length} of ${matching.length}`
    previous.disabled = page === 0
    next.disabled = page >= pages - 1
    refreshTotals()
  }
  const soon = batched(render)

  // The headers that sort: a button each, and `aria-sort` on the one in use.
  const headers = [...table.tHead.rows[0].cells].filter((cell) => cell.dataset.sort !== undefined)
  const showSort = () => {
    for (const header of headers) {
      if (header.dataset.sort === sort) header.setAttribute('aria-sort', descending ? 'descending' : 'ascending')
      else header.removeAttribute('aria-sort')
    }
    caption.firstChild.nodeValue = `All services, ${CAPTIONS[sort]}${descending ? ', reversed' : ''} `
  }
  for (const header of headers) {
    const button = h('button', { type: 'button', class: 'sort' }, header.textContent)
    button.addEventListener('click', () => {
      descending = sort === header.dataset.sort ? !descending : false
      sort = header.dataset.sort
      ordered = undefined
      page = 0
      showSort()
      render()
    })
    header.replaceChildren(button)
  }

  previous.addEventListener('click', () => {
    page--
    render()
  })
  next.addEventListener('click', () => {
    page++
    render()
  })

  filter.addEventListener('input', () => {
    query = filter.value.trim().toLowerCase()
    page = 0
    render()
  })
  document.addEventListener('keydown', (event) => {
    if (event.key === '/' && document.activeElement !== filter && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault()
      filter.focus()
      filter.select()
    } else if (event.key === 'Escape' && document.activeElement === filter && filter.value !== '') {
      filter.value = ''
      filter.dispatchEvent(new Event('input'))
    }
  })

  return {
    url: `${prefix}/events?view=summary`,
    types: ['summary'],
    snapshot (list) {
      const names = new Set(list.map((summary) => summary.name))
      for (const name of services.keys()) if (!names.has(name)) take({ name, total: 0 })
      for (const summary of list) take(summary)
      render()
    },
    apply (event) {
      take(event)
      soon()
    }
  }
}
