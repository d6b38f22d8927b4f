/* global EventSource */
// The Luna panel, live. The server renders every page complete; this script then follows the
// registry's event stream ({prefix}/events) and changes only the rows an event is about. It builds
// DOM with createElement and text nodes only: whatever an instance sends stays text.

const TYPES = ['registered', 'updated', 'status', 'deregistered', 'evicted']
const DESCRIPTION_LENGTH = 160

const root = document.documentElement
const body = document.body
const prefix = body.dataset.prefix ?? ''
const heartbeatTimeout = Number(body.dataset.timeout) || 30_000
const serviceName = body.dataset.service
// Relative times follow the server's clock, whatever the browser's says.
const skew = (Number(body.dataset.now) || Date.now()) - Date.now()
const now = () => Date.now() + skew

root.classList.add('js')

// Formatting, as the server does it.

function since (elapsed) {
  const seconds = Math.max(0, Math.floor(elapsed / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h`
  return `${Math.floor(hours / 24)} d`
}

function ago (elapsed) {
  return elapsed < 1000 ? 'just now' : `${since(elapsed)} ago`
}

function exact (iso) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`
}

function shorten (text, length = DESCRIPTION_LENGTH) {
  const chars = Array.from(text)
  return chars.length <= length ? text : `${chars.slice(0, length - 1).join('').trimEnd()}…`
}

function linkable (url) {
  return /^https?:\/\//i.test(url)
}

const collator = new Intl.Collator('en', { numeric: true })

function versionsOf (instances) {
  const counts = new Map()
  for (const instance of instances) counts.set(instance.version, (counts.get(instance.version) ?? 0) + 1)
  return [...counts.keys()].sort(collator.compare).map((version) => ({ version, count: counts.get(version) }))
}

/** DOWN first, then by key: the order the server renders. */
function downFirst (statusA, keyA, statusB, keyB) {
  const rank = (statusA === 'DOWN' ? 0 : 1) - (statusB === 'DOWN' ? 0 : 1)
  if (rank !== 0) return rank
  return keyA < keyB ? -1 : keyA > keyB ? 1 : 0
}

// DOM, built from elements and text nodes only.

function h (tag, attributes, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === false) continue
    node.setAttribute(name, value === true ? '' : String(value))
  }
  node.append(...children.filter((child) => child !== undefined && child !== null && child !== false))
  return node
}

function byId (id) {
  return document.getElementById(id)
}

function badge (status) {
  if (status === 'UP' || status === 'OK') return h('span', { class: 'badge up' }, status)
  return h('span', { class: 'badge down' }, status)
}

function agoTime (iso) {
  return h('time', { 'data-ago': true, datetime: iso, title: exact(iso) }, ago(now() - Date.parse(iso)))
}

function versionChips (versions) {
  return versions.map(({ version, count }) => versions.length > 1
    ? h('span', { class: 'version' }, version, ' ', h('span', { class: 'count' }, `×${count}`))
    : h('span', { class: 'version' }, version))
}

/**
 * Puts `row` where the order says, finding the place by halving rather than passing over every
 * row. The other rows must be in order.
 */
function place (tbody, row, before) {
  row.remove()
  const rows = tbody.rows
  let low = 0
  let high = rows.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (before(row, rows[middle])) high = middle
    else low = middle + 1
  }
  tbody.insertBefore(row, rows[low] ?? null)
}

/** Puts every row in order, moving only those out of place: after a snapshot. */
function reorder (tbody, rows, before) {
  rows.sort((a, b) => before(a, b) ? -1 : before(b, a) ? 1 : 0)
  rows.forEach((row, index) => {
    if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] ?? null)
  })
}

/** Runs `fn` once soon, however often it is asked for: a burst of events is one DOM update. */
function batched (fn) {
  let timer
  return () => {
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined
        fn()
      }, 40)
    }
  }
}

// "12 s ago" ticks on its own, every second.

function tick () {
  const current = now()
  for (const time of document.querySelectorAll('time[data-ago]')) {
    const text = ago(current - Date.parse(time.dateTime))
    if (time.textContent !== text) time.textContent = text
  }
  for (const time of document.querySelectorAll('time.for')) {
    const text = `for ${since(current - Date.parse(time.dateTime))}`
    if (time.textContent !== text) time.textContent = text
  }
}

// The connection: live, or reconnecting.

const indicator = byId('connection')
const indicatorLabel = byId('connection-label')

function connection (state, text) {
  indicator.dataset.state = state
  if (indicatorLabel.textContent !== text) indicatorLabel.textContent = text
  root.classList.toggle('stale', state === 'reconnecting')
}

function follow (view) {
  const url = `${prefix}/events${serviceName === undefined ? '' : `?service=${encodeURIComponent(serviceName)}`}`
  let source
  let retry
  let failures = 0

  const connect = () => {
    clearTimeout(retry)
    const stream = new EventSource(url)
    source = stream
    if (indicator.dataset.state !== 'reconnecting') connection('connecting', 'Connecting…')
    stream.addEventListener('snapshot', (message) => {
      failures = 0
      view.snapshot(JSON.parse(message.data))
      connection('live', 'Live')
    })
    for (const type of TYPES) {
      stream.addEventListener(type, (message) => view.apply(JSON.parse(message.data)))
    }
    stream.addEventListener('error', () => {
      if (source !== stream) return
      connection('reconnecting', 'Reconnecting…')
      // A dropped connection the browser retries by itself; an answer it will not retry (an
      // error status) is retried here, less and less often. Either way the next snapshot
      // brings the page up to date.
      if (stream.readyState === EventSource.CLOSED) {
        failures++
        retry = setTimeout(connect, Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)))
      }
    })
  }

  // A page kept in the back/forward cache closes its stream, and opens a new one on return.
  window.addEventListener('pagehide', () => {
    clearTimeout(retry)
    source?.close()
    source = undefined
  })
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) connect()
  })
  connect()
  return { live: () => source !== undefined && source.readyState === EventSource.OPEN }
}

// The overview: one row per service, no instances.

function overview () {
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

// A service's page: its instances, and deregistering one.

function servicePage () {
  const tbody = byId('instances').tBodies[0]
  const wrap = byId('instances-wrap')
  const empty = byId('empty')
  const notice = byId('notice')
  const noticeText = byId('notice-text')
  const dialog = byId('confirm')
  /** id → { view, row, beat } */
  const instances = new Map()
  let headerDirty = false
  let pending

  for (const row of tbody.rows) instances.set(row.dataset.instance, { view: undefined, row, beat: row.querySelector('time[data-ago]') })

  const actionCell = (id) => h('td', { class: 'needs-js' },
    h('button', { type: 'button', class: 'danger small', 'data-deregister': true }, 'Deregister', h('span', { class: 'visually-hidden' }, ` ${id}`)))

  const fill = (entry) => {
    const { view, row } = entry
    row.dataset.instance = view.instanceId
    row.classList.toggle('down', view.status === 'DOWN')
    const status = h('td', {}, badge(view.status))
    if (view.status === 'DOWN') {
      status.append(' ', view.reportedStatus === 'OK'
        ? h('span', { class: 'why', title: `It reports OK, but its last heartbeat is ${since(heartbeatTimeout)} old or more` }, 'no heartbeat')
        : h('span', { class: 'why', title: 'The instance itself reports DOWN' }, 'reported'))
    }
    const metadata = h('td', { class: 'metadata' }, ...Object.entries(view.metadata ?? {}).map(([key, value]) =>
      h('span', { class: 'pair' }, h('span', { class: 'key' }, `${key}=`), value)))
    entry.beat = agoTime(view.lastHeartbeat)
    const cells = [
      h('th', { scope: 'row', class: 'mono' }, view.instanceId),
      status,
      h('td', { class: 'mono' }, view.version),
      h('td', {}, linkable(view.url)
        ? h('a', { class: 'mono', href: view.url, rel: 'noreferrer noopener' }, view.url)
        : h('span', { class: 'mono' }, view.url)),
      h('td', { class: 'num' }, String(view.balancerOptions?.weight ?? '')),
      metadata,
      h('td', {}, entry.beat),
      h('td', {}, view.downSince === undefined ? h('span', { class: 'none' }, '—') : agoTime(view.downSince))
    ]
    // The action cell stays, so a focused button keeps its focus.
    let action = row.lastElementChild
    if (action === null || !action.classList.contains('needs-js')) {
      action = actionCell(view.instanceId)
      row.append(action)
    }
    while (row.firstElementChild !== action) row.firstElementChild.remove()
    action.before(...cells)
  }

  const before = (a, b) => {
    const va = instances.get(a.dataset.instance).view
    const vb = instances.get(b.dataset.instance).view
    return downFirst(va.status, va.instanceId, vb.status, vb.instanceId) < 0
  }

  const upsert = (view, inPlace = true) => {
    let entry = instances.get(view.instanceId)
    const isNew = entry === undefined || entry.view === undefined
    if (entry === undefined) {
      entry = { view, row: h('tr'), beat: undefined }
      instances.set(view.instanceId, entry)
    }
    const moved = isNew || entry.view.status !== view.status
    entry.view = view
    fill(entry)
    if (moved && inPlace) place(tbody, entry.row, before)
  }

  const remove = (id) => {
    const entry = instances.get(id)
    if (entry === undefined) return
    entry.row.remove()
    instances.delete(id)
  }

  const header = () => {
    headerDirty = false
    const views = [...instances.values()].map((entry) => entry.view).filter((view) => view !== undefined)
    const online = views.filter((view) => view.status === 'OK').length
    const status = byId('service-status')
    status.replaceChildren(views.length === 0
      ? h('span', { class: 'badge none' }, 'NO INSTANCES')
      : badge(online > 0 ? 'UP' : 'DOWN'))
    byId('total-instances').textContent = `${online} / ${views.length}`
    const versions = versionsOf(views)
    byId('service-versions').replaceChildren(...(versions.length === 0 ? [h('span', { class: 'none' }, '—')] : versionChips(versions)))
    let latest
    for (const view of views) {
      if (view.description !== undefined && view.description !== '' && (latest === undefined || view.registeredAt > latest.registeredAt ||
        (view.registeredAt === latest.registeredAt && view.instanceId < latest.instanceId))) latest = view
    }
    const description = byId('service-description')
    description.textContent = latest?.description ?? ''
    description.hidden = latest === undefined
    empty.hidden = views.length > 0
    wrap.hidden = views.length === 0
  }
  const headerSoon = batched(() => { if (headerDirty) header() })

  const say = (text, kind) => {
    notice.setAttribute('role', kind === 'error' ? 'alert' : 'status')
    notice.classList.toggle('error', kind === 'error')
    noticeText.textContent = text
    notice.hidden = false
  }
  byId('notice-close').addEventListener('click', () => { notice.hidden = true })

  const deregister = async (id) => {
    const button = instances.get(id)?.row.querySelector('button[data-deregister]')
    if (button) button.disabled = true
    try {
      // A custom header makes this a request another site's page cannot send: the browser
      // would have to ask first, and the registry never says yes to another origin.
      const response = await fetch(`${prefix}/instances/${encodeURIComponent(id)}`, {
        method: 'DELETE',
        headers: { 'x-luna-panel': '1', accept: 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store'
      })
      if (response.status === 204 || response.status === 404) {
        remove(id)
        header()
        say(response.status === 204 ? `${id} was deregistered.` : `${id} was not registered any more.`, 'info')
        return
      }
      const error = await response.json().catch(() => undefined)
      const reason = typeof error?.message === 'string' ? error.message : response.statusText
      say(`Could not deregister ${id}: ${reason} (HTTP ${response.status}).`, 'error')
    } catch {
      say(`Could not reach the registry to deregister ${id}. Check the connection and try again.`, 'error')
    }
    if (button) button.disabled = false
  }

  tbody.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-deregister]')
    if (button === null) return
    pending = button.closest('tr').dataset.instance
    byId('confirm-id').textContent = pending
    dialog.showModal()
  })
  byId('confirm-cancel').addEventListener('click', () => dialog.close())
  byId('confirm-ok').addEventListener('click', () => {
    const id = pending
    pending = undefined
    dialog.close()
    if (id !== undefined) deregister(id)
  })
  dialog.addEventListener('close', () => { pending = undefined })

  return {
    snapshot (list) {
      const views = list.find((service) => service.name === serviceName)?.instances ?? []
      const ids = new Set(views.map((view) => view.instanceId))
      for (const id of [...instances.keys()]) if (!ids.has(id)) remove(id)
      for (const view of views) upsert(view, false)
      reorder(tbody, [...instances.values()].map((entry) => entry.row), before)
      header()
    },
    apply (event) {
      if (event.service !== serviceName) return
      if (event.type === 'deregistered' || event.type === 'evicted') remove(event.instanceId)
      else upsert(event.instance)
      headerDirty = true
      headerSoon()
    },
    /** A heartbeat that changes nothing is no event: the last heartbeat is read now and then. */
    heartbeats (views) {
      for (const view of views) {
        const entry = instances.get(view.instanceId)
        if (entry?.view === undefined || entry.beat === undefined || !(view.lastHeartbeat > entry.view.lastHeartbeat)) continue
        entry.view.lastHeartbeat = view.lastHeartbeat
        entry.beat.dateTime = view.lastHeartbeat
        entry.beat.title = exact(view.lastHeartbeat)
        entry.beat.textContent = ago(now() - Date.parse(view.lastHeartbeat))
      }
    }
  }
}

function pollHeartbeats (view, stream) {
  const every = Math.min(10_000, Math.max(1000, Math.round(heartbeatTimeout / 3)))
  const poll = async () => {
    try {
      if (document.visibilityState === 'visible' && stream.live()) {
        const response = await fetch(`${prefix}/instances?service=${encodeURIComponent(serviceName)}`, {
          headers: { accept: 'application/json' },
          credentials: 'same-origin',
          cache: 'no-store'
        })
        if (response.ok) view.heartbeats(await response.json())
      }
    } catch {
      // The connection indicator already says when the registry cannot be reached.
    }
    setTimeout(poll, every)
  }
  setTimeout(poll, every)
}

const page = body.dataset.page
if (page === 'overview') {
  follow(overview())
} else if (page === 'service' && serviceName !== undefined) {
  const view = servicePage()
  pollHeartbeats(view, follow(view))
}
tick()
setInterval(tick, 1000)
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') tick() })
