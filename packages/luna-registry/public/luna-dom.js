// The page, and DOM built from elements and text nodes only: whatever an instance sends stays text.
import { ago, exact, since } from './luna-format.js'

const body = document.body
export const prefix = body.dataset.prefix ?? ''
export const heartbeatTimeout = Number(body.dataset.timeout) || 30_000
export const serviceName = body.dataset.service
// Relative times follow the server's clock, whatever the browser's says.
const skew = (Number(body.dataset.now) || Date.now()) - Date.now()
export const now = () => Date.now() + skew

export function h (tag, attributes, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === false) continue
    node.setAttribute(name, value === true ? '' : String(value))
  }
  node.append(...children.filter((child) => child !== undefined && child !== null && child !== false))
  return node
}

export function byId (id) {
  return document.getElementById(id)
}

export function badge (status) {
  if (status === 'UP' || status === 'OK') return h('span', { class: 'badge up' }, status)
  return h('span', { class: 'badge down' }, status)
}

export function agoTime (iso) {
  return h('time', { 'data-ago': true, datetime: iso, title: exact(iso) }, ago(now() - Date.parse(iso)))
}

export function versionChips (versions) {
  return versions.map(({ version, count }) => versions.length > 1
    ? h('span', { class: 'version' }, version, ' ', h('span', { class: 'count' }, `×${count}`))
    : h('span', { class: 'version' }, version))
}

/**
 * Puts `row` where the order says, finding the place by halving rather than passing over every
 * row. The other rows must be in order.
 */
export function place (tbody, row, before) {
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
export function reorder (tbody, rows, before) {
  rows.sort((a, b) => before(a, b) ? -1 : before(b, a) ? 1 : 0)
  rows.forEach((row, index) => {
    if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] ?? null)
  })
}

/**
 * Runs `fn` once before the next frame, however often it is asked for: a burst of events is one
 * DOM update, and a hidden page, which draws no frames, makes none until it is seen again.
 */
export function batched (fn) {
  let frame
  return () => {
    frame ??= window.requestAnimationFrame(() => {
      frame = undefined
      fn()
    })
  }
}

/** "12 s ago" and "for 3 min" tick on their own. */
export function tick () {
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
