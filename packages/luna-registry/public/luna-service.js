// A service's page: its instances, and deregistering one.
import { agoTime, badge, batched, byId, h, heartbeatTimeout, now, place, prefix, reorder, serviceName, versionChips } from './luna-dom.js'
import { ago, downFirst, exact, linkable, since, versionsOf } from './luna-format.js'

export function servicePage () {
  const tbody = byId('instances').tBodies[0]
  const wrap = byId('instances-wrap')
  const empty = byId('empty')
  const notice = byId('notice')
  const noticeText = byId('notice-text')
  const dialog = byId('confirm')
  // The user may only read this service: no action is offered.
  const readOnly = byId('instances').hasAttribute('data-read-only')
  /** id → { view, row, beat } */
  const instances = new Map()
  let headerDirty = false
  let pending

  // A notice shows in a row of its own under the instance the user acted on, and follows it.
  const noticeRow = h('tr', { class: 'notice-row' }, h('td', { colspan: String(byId('instances').tHead.rows[0].cells.length) }))
  let noticeFor

  /** Runs `fn`, which moves rows, with the notice's row out of the way; then puts it back under its instance. */
  const aside = (fn) => {
    if (!noticeRow.isConnected) return fn()
    const next = noticeRow.nextElementSibling
    noticeRow.remove()
    fn()
    const anchor = instances.get(noticeFor)?.row
    if (anchor?.isConnected) anchor.after(noticeRow)
    else tbody.insertBefore(noticeRow, next?.parentNode === tbody ? next : null)
  }

  for (const row of tbody.rows) instances.set(row.dataset.instance, { view: undefined, row, beat: row.querySelector('time[data-ago]') })

  const maintenanceButton = (view) => view.maintenance === undefined
    ? h('button', { type: 'button', class: 'quiet small', 'data-maintenance': true, title: 'Maintenance: DOWN and no traffic, whatever it reports, until resumed' },
      'Maintain', h('span', { class: 'visually-hidden' }, ` ${view.instanceId}`))
    : h('button', { type: 'button', class: 'quiet small', 'data-maintenance': true, title: 'End the maintenance' },
      'Resume', h('span', { class: 'visually-hidden' }, ` ${view.instanceId}`))
  const actionCell = (view) => h('td', { class: 'needs-js' }, maintenanceButton(view), ' ',
    h('button', { type: 'button', class: 'danger small', 'data-deregister': true }, 'Deregister', h('span', { class: 'visually-hidden' }, ` ${view.instanceId}`)))

  const fill = (entry) => {
    const { view, row } = entry
    row.dataset.instance = view.instanceId
    row.classList.toggle('down', view.status === 'DOWN')
    const status = h('td', {}, badge(view.status))
    if (view.maintenance !== undefined) {
      status.append(' ', h('span', { class: 'why maintenance', title: `In maintenance: ${view.maintenance.reason}` }, 'maintenance'))
    } else if (view.status === 'DOWN') {
      status.append(' ', view.reportedStatus === 'OK'
        ? h('span', { class: 'why', title: `It reports OK, but its last heartbeat is ${since(heartbeatTimeout)} old or more` }, 'no heartbeat')
        : h('span', { class: 'why', title: 'The instance itself reports DOWN' }, 'reported'))
    }
    const pairs = Object.entries(view.metadata ?? {})
    const metadata = h('td', { class: 'metadata' }, ...(pairs.length === 0
      ? [h('span', { class: 'none' }, '—')]
      : pairs.map(([key, value]) => h('span', { class: 'pair' }, h('span', { class: 'key' }, `${key}=`), value))))
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
    if (readOnly) {
      row.replaceChildren(...cells)
      return
    }
    // The action cell stays, so a focused button keeps its focus.
    let action = row.lastElementChild
    if (action === null || !action.classList.contains('needs-js')) {
      action = actionCell(view)
      row.append(action)
    } else {
      action.querySelector('button[data-maintenance]')?.replaceWith(maintenanceButton(view))
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
    if (moved && inPlace) aside(() => place(tbody, entry.row, before))
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

  /** Says `text` under the row of instance `id`, where the user acted. */
  const say = (text, kind, id) => {
    notice.setAttribute('role', kind === 'error' ? 'alert' : 'status')
    notice.classList.toggle('error', kind === 'error')
    noticeText.textContent = text
    notice.hidden = false
    const row = instances.get(id)?.row
    if (row?.isConnected) {
      noticeRow.cells[0].append(notice)
      row.after(noticeRow)
    } else if (!(noticeRow.isConnected && noticeFor === id)) {
      // Neither the row nor a notice about it is left: above the table, then.
      noticeRow.remove()
      empty.before(notice)
    }
    noticeFor = id
  }
  byId('notice-close').addEventListener('click', () => {
    notice.hidden = true
    noticeRow.remove()
  })

  const deregister = async (id) => {
    const button = instances.get(id)?.row.querySelector('button[data-deregister]')
    if (button) button.disabled = true
    // Under the row now: the stream may take the row away before the answer comes.
    say(`Deregistering ${id}…`, 'info', id)
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
        // Said first, under the row: the notice then takes the row's place.
        say(response.status === 204 ? `${id} was deregistered.` : `${id} was not registered any more.`, 'info', id)
        remove(id)
        header()
        return
      }
      const error = await response.json().catch(() => undefined)
      const reason = typeof error?.message === 'string' ? error.message : response.statusText
      say(`Could not deregister ${id}: ${reason} (HTTP ${response.status}).`, 'error', id)
    } catch {
      say(`Could not reach the registry to deregister ${id}. Check the connection and try again.`, 'error', id)
    }
    if (button) button.disabled = false
  }

  // Puts an instance in maintenance, with the operator's reason, or lifts the hold.
  const maintenance = async (id) => {
    const held = instances.get(id)?.view?.maintenance !== undefined ||
      instances.get(id)?.row.querySelector('.why.maintenance') !== null
    const reason = held ? undefined : window.prompt(`Why is ${id} going into maintenance? It is DOWN and gets no traffic until the maintenance ends.`)
    if (!held && (reason === null || reason.trim() === '')) return
    try {
      const response = await fetch(`${prefix}/instances/${encodeURIComponent(id)}/maintenance`, {
        method: held ? 'DELETE' : 'PUT',
        credentials: 'same-origin',
        // As for deregistering: a request another site's page cannot send without asking first.
        headers: { 'x-luna-panel': '1', accept: 'application/json', ...(held ? {} : { 'content-type': 'application/json' }) },
        ...(held ? {} : { body: JSON.stringify({ reason: reason.trim() }) })
      })
      if (response.ok) {
        if (response.status === 200) upsert(await response.json())
        say(held ? `${id} is out of maintenance.` : `${id} is in maintenance.`, 'info', id)
        return
      }
      const reasonText = (await response.json().catch(() => ({}))).message ?? response.statusText
      say(`Could not change the maintenance of ${id}: ${reasonText} (HTTP ${response.status}).`, 'error', id)
    } catch {
      say(`Could not reach the registry to change the maintenance of ${id}. Check the connection and try again.`, 'error', id)
    }
  }

  tbody.addEventListener('click', (event) => {
    const held = event.target.closest('button[data-maintenance]')
    if (held !== null) {
      maintenance(held.closest('tr').dataset.instance)
      return
    }
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
      aside(() => reorder(tbody, [...instances.values()].map((entry) => entry.row), before))
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

/** A heartbeat that changes nothing is no event: the service page reads the last heartbeats now and then. */
export function pollHeartbeats (view, stream) {
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
