/**
 * Whether a `Prefer` header (RFC 7240) asks for `return=minimal`: the client will not read the
 * instance's view, so the answer can leave it out. Preferences are separated by commas, may carry
 * parameters after `;`, and their names and this value are compared without regard to case; the
 * value may be quoted. Anything not understood is ignored, as the RFC asks.
 */
export function wantsMinimal (header: string | string[] | undefined): boolean {
  if (header === undefined) return false
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const preference of line.split(',')) {
      const [token = ''] = preference.split(';')
      const equals = token.indexOf('=')
      if (equals === -1) continue
      const name = token.slice(0, equals).trim().toLowerCase()
      const value = token.slice(equals + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase()
      if (name === 'return' && value === 'minimal') return true
    }
  }
  return false
}

/** The header that says the preference was honoured. */
export const MINIMAL_APPLIED = 'return=minimal'
