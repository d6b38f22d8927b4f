/* global EventSource */
// The Luna panel, live. The server renders every page (the overview's first page of services);
// this script then follows the registry's event stream ({prefix}/events) and changes only the rows
// an event is about. It builds
// DOM with createElement and text nodes only: whatever an instance sends stays text.
import { byId, prefix, serviceName, tick } from './luna-dom.js'
import { overview } from './luna-overview.js'
import { protectionBanner } from './luna-protection.js'
import { pollHeartbeats, servicePage } from './luna-service.js'

const root = document.documentElement
root.classList.add('js')

const TYPES = ['registered', 'updated', 'status', 'deregistered', 'evicted', 'maintenance']
const banner = protectionBanner()

// The connection: live, or reconnecting.

const indicator = byId('connection')
const indicatorLabel = byId('connection-label')

function connection (state, text) {
  indicator.dataset.state = state
  if (indicatorLabel.textContent !== text) indicatorLabel.textContent = text
  root.classList.toggle('stale', state === 'reconnecting')
}

/** Follows the stream the view asks for (a service's instances by default) and the events it names. */
function follow (view) {
  const url = view.url ?? `${prefix}/events${serviceName === undefined ? '' : `?service=${encodeURIComponent(serviceName)}`}`
  const types = view.types ?? TYPES
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
      banner.refresh()
      connection('live', 'Live')
    })
    for (const type of types) {
      stream.addEventListener(type, (message) => view.apply(JSON.parse(message.data)))
    }
    stream.addEventListener('protection', (message) => banner.apply(JSON.parse(message.data)))
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

const page = document.body.dataset.page
if (page === 'overview') {
  follow(overview())
} else if (page === 'service' && serviceName !== undefined) {
  const view = servicePage()
  pollHeartbeats(view, follow(view))
}
tick()
setInterval(tick, 1000)
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') tick() })
