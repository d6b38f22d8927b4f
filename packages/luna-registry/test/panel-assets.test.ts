import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { AUTH, PREFIX, build, info } from './helpers.js'
import { BROWSER, OWN_SCRIPT, withoutOwnScript } from './panel-html.js'

function digest (body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12)
}

/**
 * The modules a script imports, and theirs, fetched as a browser would: each import must name the
 * digest of what the server then sends, or a browser could pair a new script with an old module.
 */
async function imported (app: FastifyInstance, script: string): Promise<Map<string, string>> {
  const modules = new Map<string, string>()
  const pending = [script]
  for (let body = pending.pop(); body !== undefined; body = pending.pop()) {
    for (const [, name = '', version] of body.matchAll(/\bfrom '\.\/([\w-]+\.js)(?:\?v=([0-9a-f]{12}))?'/g)) {
      if (modules.has(name)) continue
      const res = await app.inject({ method: 'GET', url: `${PREFIX}/assets/${name}?v=${version ?? ''}`, headers: AUTH })
      if (res.statusCode !== 200 || version !== digest(res.body)) throw new Error(`${name}: imported as version ${String(version)}, served ${res.statusCode} with version ${digest(res.body)}`)
      modules.set(name, res.body)
      pending.push(res.body)
    }
  }
  return modules
}

t.test('the stylesheet, script and icon are served under the prefix, self-contained', async (t) => {
  const app = await build(t)
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  t.match(html, new RegExp(`<link rel="stylesheet" href="${PREFIX}/assets/luna.css\\?v=[0-9a-f]{12}">`))
  t.match(html, OWN_SCRIPT)
  const css = await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.css`, headers: AUTH })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)
  t.match(css.body, /\.badge\.down/)
  t.match(css.body, /prefers-color-scheme: dark/)
  t.notMatch(css.body, /@import|url\(/, 'nothing fetched from elsewhere')
  const js = await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.js?v=anything`, headers: AUTH })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /^text\/javascript/)
  t.equal(js.headers['x-content-type-options'], 'nosniff')
  t.match(js.body, /new EventSource\(/, 'it follows the event stream')
  const modules = await imported(app, js.body)
  t.same([...modules.keys()].sort(), ['luna-dom.js', 'luna-format.js', 'luna-overview.js', 'luna-protection.js', 'luna-service.js'], 'and imports its modules')
  for (const [name, body] of [['luna.js', js.body], ...modules]) {
    t.notMatch(body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|\bimport\(|https?:\/\//, `${name}: no HTML strings, no eval, nothing from elsewhere`)
  }
  t.match([...modules.values()].join('\n'), /'x-luna-panel': '1'/, 'its writes carry a header a plain form or another site cannot send')
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.js` })).statusCode, 401, 'the script is behind the same auth')
  const version = /luna\.css\?v=([0-9a-f]{12})/.exec(html)?.[1]
  t.equal(version, digest(css.body), 'the URL names the content, so a new release is fetched anew')
  t.match(html, new RegExp(`<link rel="icon" href="${PREFIX}/assets/luna.svg\\?v=[0-9a-f]{12}" type="image/svg\\+xml">`))
  const icon = await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.svg`, headers: AUTH })
  t.equal(icon.statusCode, 200)
  t.equal(icon.headers['content-type'], 'image/svg+xml')
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.svg` })).statusCode, 401, 'behind the same auth')
})

t.test('the panel runs only its own files: no inline script or style, no other origin, no framing, not cached', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { url: 'http://h1:8080/', metadata: { zone: 'eu-1' } }) })
  for (const url of [`${PREFIX}/services/`, `${PREFIX}/services/orders`, `${PREFIX}/services/nobody`]) {
    const res = await app.inject({ method: 'GET', url, headers: BROWSER })
    const directives = new Map(String(res.headers['content-security-policy']).split(';').map((part) => {
      const [name = '', ...values] = part.trim().split(/\s+/)
      return [name, values.join(' ')]
    }))
    t.equal(directives.get('default-src'), "'none'", `${url}: nothing by default`)
    t.equal(directives.get('script-src'), "'self'", `${url}: scripts only from the panel's origin, none inline, no eval`)
    t.equal(directives.get('connect-src'), "'self'", `${url}: connections only to the panel's origin`)
    t.equal(directives.get('style-src'), "'self'", `${url}: styles only from the panel's origin, none inline`)
    t.equal(directives.get('frame-ancestors'), "'none'")
    t.equal(directives.get('base-uri'), "'none'")
    t.equal(directives.get('form-action'), "'none'")
    t.equal(directives.get('require-trusted-types-for'), "'script'", `${url}: HTML strings cannot be written into the page`)
    t.notMatch(String(res.headers['content-security-policy']), /unsafe-|nonce-|sha\d+-|\*|https?:/, `${url}: no exception`)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['cache-control'], 'no-store')
    const html = withoutOwnScript(res.body)
    t.notMatch(html, /<script|<style|style=|\son[a-z]+=|javascript:/i, `${url}: no inline script, style or handler`)
    t.notMatch(html.replace(/http:\/\/h1:8080\//g, ''), /https?:\/\//, `${url}: no URL to another origin but the instance's own link`)
    for (const [, ref = ''] of html.matchAll(/(?:src|href)="([^"]*)"/g)) {
      if (ref === 'http://h1:8080/') continue
      t.ok(ref.startsWith(`${PREFIX}/`), `${url}: ${ref} is under the prefix`)
    }
  }
})
