import t from 'tap'
import { AUTH, PREFIX, build, info, manualClock, wrapStore } from './helpers.js'
import { BROWSER, withoutOwnScript } from './panel-html.js'
import { MemoryStore, type InstanceRecord } from '../src/index.js'

const XSS = '<script>alert("x")</script>'

/** What a page must show as text and never as markup: tags, attribute breakouts, template syntax. */
const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(2)>',
  "'><svg onload=alert(3)>",
  '{{constructor.constructor("alert(4)")()}}',
  '<%= it.prefix %>',
  '<%~ it.asset("luna.js") %>',
  '&lt;b&gt;already escaped&lt;/b&gt;'
]

/** Eta's escaping: what a value must look like in the page. */
function escaped (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** Elements a value could bring into the page. */
const INJECTED = /<(?:script|img|svg|b)\b/i

t.test('everything an instance sends is escaped', async (t) => {
  const app = await build(t)
  await app.inject({
    method: 'POST',
    url: `${PREFIX}/instances/evil:h:1`,
    headers: AUTH,
    payload: info('evil', { description: XSS, version: '<img src=x onerror=alert(1)>', url: 'http://h/"><script>alert(1)</script>', metadata: { a: XSS } })
  })
  for (const url of [`${PREFIX}/services/`, `${PREFIX}/services/evil`]) {
    const html = withoutOwnScript((await app.inject({ method: 'GET', url, headers: BROWSER })).body)
    t.notMatch(html, /<script/i, `${url}: no script element but the panel's own`)
    t.notMatch(html, /<img/i, `${url}: no injected element`)
    t.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/, `${url}: the version shows as text`)
    t.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, `${url}: the description shows as text`)
  }
  const page = (await app.inject({ method: 'GET', url: `${PREFIX}/services/evil`, headers: BROWSER })).body
  t.match(page, /http:\/\/h\/&quot;&gt;&lt;script&gt;/, 'the url cannot break out of its attribute')
  t.match(page, /<span class="key">a=<\/span>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, 'metadata shows as text')
})

t.test('a service name in the page cannot break out of its attribute or the markup', async (t) => {
  const app = await build(t)
  // Names are limited to letters, digits, dot, underscore and dash: what reaches the page is checked first.
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/%3Cscript%3E`, headers: BROWSER })
  t.equal(res.statusCode, 400)
  t.notMatch(res.body, /<script>/)
})

t.test('hostile metadata keys and values, versions and descriptions appear in the HTML only as text', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const metadata = Object.fromEntries(HOSTILE.map((text, i) => [`${text}${i}`, `${i}${text}`]))
  for (const [i, text] of HOSTILE.entries()) {
    const res = await app.inject({
      method: 'POST',
      url: `${PREFIX}/instances/evil:h${i}:1`,
      headers: AUTH,
      payload: info('evil', { version: `${text}${i}`, description: `${i}${text}`, metadata })
    })
    t.equal(res.statusCode, 201, `registered with ${text}`)
    clock.advance(1000)
  }
  const overview = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  const page = (await app.inject({ method: 'GET', url: `${PREFIX}/services/evil`, headers: BROWSER })).body
  for (const [i, text] of HOSTILE.entries()) {
    for (const [where, html] of [['overview', overview], ['service page', page]] as const) {
      t.match(html, `<span class="version">${escaped(`${text}${i}`)}`, `${where}: the version ${text}, escaped`)
      if (text !== escaped(text)) t.notOk(html.includes(text), `${where}: ${text} nowhere as it was sent`)
    }
    t.match(page, `<span class="pair"><span class="key">${escaped(`${text}${i}`)}=</span>${escaped(`${i}${text}`)}</span>`, `the metadata pair ${text}, key and value escaped`)
    t.match(page, `<td class="mono">${escaped(`${text}${i}`)}</td>`, `the version ${text} in its instance's row, escaped`)
  }
  // The most recently registered description is the service's.
  const description = `${HOSTILE.length - 1}${HOSTILE.at(-1)!}`
  t.match(overview, `<td class="description">${escaped(description)}</td>`, 'the description on the overview, escaped')
  t.match(page, `<p class="description" id="service-description">${escaped(description)}</p>`, 'the description on the service page, escaped')
  t.notMatch(withoutOwnScript(overview), INJECTED, 'the overview: no element or handler but its own')
  t.notMatch(withoutOwnScript(page), INJECTED, 'the service page: no element or handler but its own')
})

t.test('a URL a store hands back that is not http: or https: is shown as text, never as a link', async (t) => {
  const URLS = ['javascript:alert(document.domain)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', '//evil.example/']
  // A store that lost or altered what it was given: Luna checked the URL on the way in, not on the way out.
  const inner = new MemoryStore()
  const altered = (record: Readonly<InstanceRecord>): Readonly<InstanceRecord> => {
    const index = Number(record.instanceId.split(':')[2]) - 1
    return index < URLS.length ? { ...record, url: URLS[index]! } : record
  }
  const app = await build(t, {
    store: wrapStore({
      get: async (id) => { const record = await inner.get(id); return record === undefined ? undefined : altered(record) },
      list: async (filter) => (await inner.list(filter)).map(altered)
    }, inner)
  })
  for (let i = 0; i <= URLS.length; i++) {
    t.equal((await app.inject({ method: 'POST', url: `${PREFIX}/instances/evil:h:${i + 1}`, headers: AUTH, payload: info('evil', { url: `http://h:${i + 1}/` }) })).statusCode, 201)
  }
  const page = (await app.inject({ method: 'GET', url: `${PREFIX}/services/evil`, headers: BROWSER })).body
  const hrefs = [...page.matchAll(/\shref="([^"]*)"/g)].map(([, href]) => href)
  t.same(hrefs.filter((href) => !href!.startsWith(`${PREFIX}/`)), [`http://h:${URLS.length + 1}/`], 'the one http: URL is the only link out')
  for (const url of URLS) {
    t.match(page, `<span class="mono">${escaped(url)}</span>`, `${url}: shown as text`)
  }
  t.notMatch(page, /href="\s*(?:javascript|data|vbscript):/i, 'no link to a script')
})
