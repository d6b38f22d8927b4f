// The overview: one row per service, no instances.
import { badge, batched, byId, h, now, place, prefix, reorder, versionChips } from './luna-dom.js'
import { downFirst, exact, shorten, since, versionsOf } from './luna-format.js'

export function overview () {
  const table = byId('services')
  const tbody = table.tBodies[0]
  const wrap = byId('services-wrap')
  const empty = byId('empty')
  const filter = byId('filter')
  const shown = byId('shown')
  const noMatch = byId('no-match')
  /** name → { name, instances: Map<id, instance>, row, summary, signature, haystack } */
  const services = new Map()
  const dirty = new Set()
  let query = ''
  // `?status=UP` or `?status=DOWN` lists only those, as the server did.
  const only = new URLSearchParams(window.location.search).get('status')

  const slim = (instance) => ({
    status: instance.status,
    version: instance.version,
    description: instance.description ?? '',
    registeredAt: instance.registeredAt,
    instanceId: instance.instanceId,
    downSince: instance.downSince
  })

  const summarise = (entry) => {
    let online = 0
    let latest
    let downSince
    for (const instance of entry.instances.values()) {
      if (instance.status === 'OK') online++
      if (instance.downSince !== undefined && (downSince === undefined || instance.downSince > downSince)) downSince = instance.downSince
      // The description of the most recently registered instance that has one.
      if (instance.description !== '' && (latest === undefined || instance.registeredAt > latest.registeredAt ||
        (instance.registeredAt === latest.registeredAt && instance.instanceId < latest.instanceId))) latest = instance
    }
    const status = online > 0 ? 'UP' : 'DOWN'
    return {
      name: entry.name,
      status,
      online,
      total: entry.instances.size,
      versions: versionsOf(entry.instances.values()),
      description: shorten(latest?.description ?? ''),
      downSince: status === 'DOWN' ? downSince : undefined
    }
  }

  const haystackOf = (summary) =>
    [summary.name, summary.status, ...summary.versions.map((v) => v.version), summary.description].join(' ').toLowerCase()

  /** What a row the server rendered shows, as `summarise` would say it: such a row is kept as it is. */
  const read = (row) => {
    const [name, status, numbers, versions, description] = row.cells
    const [online, total] = numbers.textContent.split(' / ').map(Number)
    const chips = [...versions.children]
    const since = status.querySelector('time.for')
    return {
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
      description: description.textContent,
      downSince: since === null ? undefined : since.dateTime
    }
  }

  for (const row of tbody.rows) {
    const summary = read(row)
    services.set(summary.name, { name: summary.name, instances: new Map(), row, summary, signature: JSON.stringify(summary), haystack: haystackOf(summary) })
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

  const before = (a, b) => downFirst(
    services.get(a.dataset.service).summary.status, a.dataset.service,
    services.get(b.dataset.service).summary.status, b.dataset.service) < 0

  const matches = (entry) => (only === null || entry.summary.status === only) && (query === '' || entry.haystack.includes(query))

  const refreshFilter = () => {
    let visible = 0
    for (const entry of services.values()) if (entry.row !== undefined && !entry.row.hidden) visible++
    const narrowed = query !== '' || only !== null
    shown.textContent = narrowed ? `${visible} of ${services.size} shown` : ''
    noMatch.hidden = !narrowed || visible > 0 || services.size === 0
  }

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

  const flush = (all = false) => {
    const moved = []
    for (const entry of dirty) {
      if (entry.instances.size === 0) {
        entry.row?.remove()
        services.delete(entry.name)
        continue
      }
      const summary = summarise(entry)
      const signature = JSON.stringify(summary)
      if (signature === entry.signature) continue
      if (entry.row === undefined || entry.summary.status !== summary.status) moved.push(entry)
      entry.row ??= h('tr')
      entry.summary = summary
      entry.signature = signature
      entry.haystack = haystackOf(summary)
      fill(entry.row, summary)
      entry.row.hidden = !matches(entry)
    }
    dirty.clear()
    if (all) {
      reorder(tbody, [...services.values()].map((entry) => entry.row), before)
    } else {
      // Out first, then each into its place among rows that are all in order.
      for (const entry of moved) entry.row.remove()
      for (const entry of moved) place(tbody, entry.row, before)
    }
    refreshTotals()
    refreshFilter()
  }
  const soon = batched(flush)

  const entryFor = (name) => {
    let entry = services.get(name)
    if (entry === undefined) {
      entry = { name, instances: new Map(), row: undefined, summary: { status: 'UP' }, signature: '', haystack: '' }
      services.set(name, entry)
    }
    return entry
  }

  filter.addEventListener('input', () => {
    query = filter.value.trim().toLowerCase()
    for (const entry of services.values()) {
      const hide = !matches(entry)
      if (entry.row !== undefined && entry.row.hidden !== hide) entry.row.hidden = hide
    }
    refreshFilter()
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
    snapshot (list) {
      const names = new Set(list.map((service) => service.name))
      for (const entry of services.values()) {
        if (!names.has(entry.name)) {
          entry.instances.clear()
          dirty.add(entry)
        }
      }
      for (const service of list) {
        const entry = entryFor(service.name)
        entry.instances = new Map(service.instances.map((instance) => [instance.instanceId, slim(instance)]))
        dirty.add(entry)
      }
      flush(true)
    },
    apply (event) {
      if (event.type === 'deregistered' || event.type === 'evicted') {
        const entry = services.get(event.service)
        if (entry === undefined) return
        entry.instances.delete(event.instanceId)
        dirty.add(entry)
      } else {
        entryFor(event.service).instances.set(event.instanceId, slim(event.instance))
        dirty.add(entryFor(event.service))
      }
      soon()
    }
  }
}
