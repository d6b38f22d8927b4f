// The mass-expiry protection banner: rendered by the server, kept up to date from the event
// stream, and the operator's button to end protection.
import { byId, h, prefix } from './luna-dom.js'
import { exact } from './luna-format.js'

export function protectionBanner () {
  const banner = byId('protection')
  const since = byId('protection-since')
  const reason = byId('protection-reason')
  const end = byId('protection-end')

  const show = (protection) => {
    banner.hidden = !protection.active
    if (!protection.active) return
    since.replaceChildren(' since ', h('time', { datetime: protection.since }, exact(protection.since)))
    reason.textContent = protection.reason
  }

  // Only an admin's page has the button.
  end?.addEventListener('click', async () => {
    end.disabled = true
    try {
      // As for deregistering: a request another site's page cannot send without asking first.
      const response = await fetch(`${prefix}/protection`, { method: 'DELETE', headers: { 'x-luna-panel': '1', accept: 'application/json' }, credentials: 'same-origin' })
      if (response.ok) show(await response.json())
    } catch {
      // The connection indicator already says when the registry cannot be reached.
    } finally {
      end.disabled = false
    }
  })

  return {
    /** A `protection` event. */
    apply: show,
    /** After a (re)connection: the events missed meanwhile may have changed it. */
    async refresh () {
      try {
        const response = await fetch(`${prefix}/summary`, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        if (response.ok) show((await response.json()).protection)
      } catch {
        // As above.
      }
    }
  }
}
