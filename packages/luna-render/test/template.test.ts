import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { ServiceView } from 'luna-registry'
import { configValue, loadTemplate, NGINX_TEMPLATE, renderData, TemplateError, UnsafeValueError } from '../src/index.js'
import { tempDir } from './helpers.js'

type Instance = ServiceView['instances'][number]

function service (name: string, description: string, ...urls: string[]): ServiceView {
  const instances = urls.map((url, i) => ({ instanceId: `${name}:h${i}:1`, url, status: 'OK', balancerOptions: { weight: 1 } }) as unknown as Instance)
  return { name, description, instances } as unknown as ServiceView
}

t.test('configValue writes names, hosts, numbers and encoded paths, and refuses syntax', async (t) => {
  for (const value of ['orders.v2_x-1', '[::1]', '10.0.0.7', 8080, '/api/%3B', 'a:b@c!&=+,*~']) t.equal(configValue(value), String(value))
  for (const value of ['a;b', 'a b', '{', '}', '$host', '"', '\'', '#', 'a\nb', '\\', '\t']) {
    t.throws(() => configValue(value), UnsafeValueError, JSON.stringify(value))
  }
  t.match(new UnsafeValueError('x'.repeat(100)).message, /^"x{80}…" is not safe to write into a configuration file/)
})

t.test('the nginx template writes only checked values, whatever instances send', async (t) => {
  const template = loadTemplate(NGINX_TEMPLATE)
  const text = template(renderData([
    service('evil', 'Takes orders; } server { listen 80; }', 'http://h/p;}{$x"\'#\n/', 'http://a;b/'),
    service('orders', 'plain', 'http://[2001:db8::1]:8080/api')
  ], '127.0.0.1:8080'))
  const directives = text.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter((line) => line !== '')
  const allowed = [
    /^upstream luna_\d+_[\w.-]+ \{$/,
    /^server (?:[\w.-]+|\[[\da-f:]+\]):\d+ weight=\d+;$/,
    /^keepalive 32;$/,
    /^\}$/,
    /^location (?:= )?\/gateway\/services\/[\w.-]+\/? \{$/,
    /^proxy_pass https?:\/\/luna_\d+_[\w.-]+[\w.~!&=+,*:@/%-]*;$/,
    /^return (?:503|404);$/,
    /^location \/gateway\/services\/ \{$/
  ]
  const header = text.slice(text.indexOf('map $http_upgrade'), text.indexOf('    # evil'))
  for (const line of directives.filter((line) => !header.includes(line))) {
    t.ok(allowed.some((rule) => rule.test(line)), line)
  }
  t.match(text, 'proxy_pass http://luna_1_evil/p%3B%7D%7B%24x%22%27/;')
  t.match(text, 'server [2001:db8::1]:8080 weight=1;')
  t.match(text, '# left out: evil:h1:1')
  t.notMatch(text, /Takes orders/)
})

t.test('<%= %> refuses a registrant\'s text; <%~ %> writes what the template trusts', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'custom.eta')
  await writeFile(path, '<% for (const s of it.services) { %><%~ "# " %><%= s.description %>\n<% } %>')
  const template = loadTemplate(path)
  t.equal(template(renderData([service('a', 'fine')], '8080')), '# fine', 'as in every Eta template, the newline right after a tag is trimmed')
  t.throws(() => template(renderData([service('a', 'not; fine')], '8080')), UnsafeValueError)
})

t.test('a template that cannot be read or compiled is a TemplateError naming it, on one line', async (t) => {
  const dir = await tempDir(t)
  const missing = join(dir, 'missing.eta')
  t.throws(() => loadTemplate(missing), { name: 'TemplateError', message: new RegExp(`^cannot read the template ${missing}: ENOENT`) })
  const broken = join(dir, 'broken.eta')
  await writeFile(broken, 'upstream <%= it.x\n')
  const error = (() => { try { loadTemplate(broken) } catch (error) { return error as Error } })()
  t.type(error, TemplateError)
  t.match(error?.message, new RegExp(`^the template ${broken} does not compile: `))
  t.notMatch(error?.message, /\n/)
})
