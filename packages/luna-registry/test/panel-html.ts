import { PREFIX } from './helpers.js'

/** What Firefox sends for a page, with the test's credentials. */
export const BROWSER = {
  authorization: `Basic ${Buffer.from('admin:').toString('base64')}`,
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
}

/** The one script element a panel page has: its own file, under the prefix, with no content. */
export const OWN_SCRIPT = new RegExp(`<script type="module" src="${PREFIX}/assets/luna\\.js\\?v=[0-9a-f]{12}"></script>`)

/** The page without its own script element, so that any other `<script` is a finding. */
export function withoutOwnScript (html: string): string {
  const found = html.match(new RegExp(OWN_SCRIPT.source, 'g')) ?? []
  if (found.length !== 1) throw new Error(`expected the panel's own script exactly once, found it ${found.length} times`)
  return html.replace(OWN_SCRIPT, '')
}
