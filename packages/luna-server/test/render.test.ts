import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import t from 'tap'
import { NGINX_TEMPLATE } from 'luna-render'
import { until } from '../../../test-support/until.js'
import { ConfigError, HELP, parseConfig, buildServer, type ServerSettings } from '../src/index.js'
import { renderTargets } from '../src/render.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

async function tempDir (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'luna-server-render-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function settings (argv: string[], env: Record<string, string> = {}): ServerSettings {
  const config = parseConfig(argv, env)
  if (config.action !== 'start') throw new Error(`expected start, got ${config.action}`)
  return config.settings
}

function failure (argv: string[], env: Record<string, string> = {}): string {
  try {
    parseConfig(argv, env)
  } catch (error) {
    if (error instanceof ConfigError) {
      if (error.message.includes('\n')) throw new Error(`not one line: ${error.message}`)
      return error.message
    }
    throw error
  }
  throw new Error(`${JSON.stringify({ argv, env })} was accepted`)
}

t.test('nginx settings, from variables and flags', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'luna.conf')
  t.match(settings([], { LUNA_NGINX_CONFIG: file, LUNA_NGINX_LISTEN: '127.0.0.1:8081', LUNA_NGINX_TEST: ' /usr/sbin/nginx -t ', LUNA_NGINX_RELOAD: '' }),
    { nginxConfig: file, nginxListen: '127.0.0.1:8081', nginxTest: '/usr/sbin/nginx -t', nginxReload: '' })
  t.match(settings(['--nginx-config', 'luna.conf', '--nginx-listen', '[::1]:80', '--nginx-test', 'true', '--nginx-reload', 'kill -HUP $(cat /run/nginx.pid)']),
    { nginxConfig: resolve('luna.conf'), nginxListen: '[::1]:80', nginxTest: 'true', nginxReload: 'kill -HUP $(cat /run/nginx.pid)' })
  for (const listen of ['80', '65535', 'localhost:8080', 'edge.example:443', '0.0.0.0:8080']) t.equal(settings(['--nginx-listen', listen]).nginxListen, listen)
})

t.test('--render: repeatable flags, or ";" between entries in LUNA_RENDER', async (t) => {
  const dir = await tempDir(t)
  const template = join(dir, 'haproxy.eta')
  await writeFile(template, '<% for (const route of it.routes) { %>backend <%= route.upstream %>\n<% } %>')
  t.same(settings([], { LUNA_RENDER: `${template}:${dir}/a.cfg:haproxy -c -f ${dir}/a.cfg; ${template}:${dir}/b.cfg` }).render, [
    { template, output: join(dir, 'a.cfg'), command: `haproxy -c -f ${dir}/a.cfg` },
    { template, output: join(dir, 'b.cfg') }
  ])
  t.same(settings(['--render', `${template}:${dir}/a.cfg:check; reload`, '--render', `${template}:${dir}/b.cfg`], { LUNA_RENDER: 'ignored' }).render, [
    { template, output: join(dir, 'a.cfg'), command: 'check; reload' },
    { template, output: join(dir, 'b.cfg') }
  ], 'the flags win, and a flag\'s command may hold a ";"')
  t.same(settings([], { LUNA_RENDER: ' ; ' }).render, [])
})

t.test('bad nginx and render settings stop the start with one line naming them', async (t) => {
  const dir = await tempDir(t)
  const broken = join(dir, 'broken.eta')
  await writeFile(broken, '<%= it.x')
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--nginx-config', '/no/such/dir/luna.conf'], {}, /^LUNA_NGINX_CONFIG \(--nginx-config\) must be blank or a file in an existing directory, got "\/no\/such\/dir\/luna.conf"$/],
    [[], { LUNA_NGINX_CONFIG: dir }, /^LUNA_NGINX_CONFIG \(--nginx-config\) .*, got ".*luna-server-render-\w+"$/],
    [['--nginx-listen', '0'], {}, /^LUNA_NGINX_LISTEN \(--nginx-listen\) must be a port from 1 to 65535, or host:port, got "0"$/],
    [['--nginx-listen', '70000'], {}, /^LUNA_NGINX_LISTEN .*, got "70000"$/],
    [[], { LUNA_NGINX_LISTEN: '127.0.0.1:80; include /etc/passwd' }, /^LUNA_NGINX_LISTEN .*, got "127\.0\.0\.1:80; include \/etc\/passwd"$/],
    [['--nginx-listen', '[::1:80'], {}, /^LUNA_NGINX_LISTEN /],
    [['--nginx-listen', '[zz]:80'], {}, /^LUNA_NGINX_LISTEN /],
    [['--nginx-listen', 'a_b:80'], {}, /^LUNA_NGINX_LISTEN /],
    [['--nginx-test', 'nginx\n-t'], {}, /^LUNA_NGINX_TEST \(--nginx-test\) must be one line \(blank: not run\), got "nginx\\n-t"$/],
    [[], { LUNA_NGINX_RELOAD: 'a\rb' }, /^LUNA_NGINX_RELOAD /],
    [['--render', 'only-a-template.eta'], {}, /^LUNA_RENDER \(--render\) entry "only-a-template.eta" must be TEMPLATE:OUTPUT or TEMPLATE:OUTPUT:COMMAND$/],
    [[], { LUNA_RENDER: `${dir}/missing.eta:${dir}/out` }, /^LUNA_RENDER \(--render\) entry ".*missing.eta:.*" names a template that cannot be used: cannot read the template .*missing.eta: ENOENT/],
    [['--render', `${broken}:${dir}/out`], {}, /^LUNA_RENDER \(--render\) entry ".*" names a template that cannot be used: the template .*broken.eta does not compile: /],
    [['--render', `${NGINX_TEMPLATE}:/no/such/dir/out`], {}, /^LUNA_RENDER \(--render\) entry ".*" cannot be written: its directory \/no\/such\/dir does not exist$/],
    [['--render', `${NGINX_TEMPLATE}:${dir}`], {}, /^LUNA_RENDER \(--render\) entry ".*" cannot be written: it is a directory$/],
    [['--nginx-config', join(dir, 'luna.conf'), '--registry-url', 'http://registry:4000'], {}, /cannot be used with LUNA_REGISTRY_URL/],
    [['--render', `${NGINX_TEMPLATE}:${dir}/out`], { LUNA_REGISTRY_URL: 'http://registry:4000' }, /cannot be used with LUNA_REGISTRY_URL/],
    [['--nginx-config', join(dir, 'luna.conf'), '--render', `${NGINX_TEMPLATE}:${dir}/luna.conf`], {}, /^LUNA_NGINX_CONFIG \(--nginx-config\) and LUNA_RENDER \(--render\) write .*luna\.conf twice: each file has one template$/],
    [[], { LUNA_RENDER: `${NGINX_TEMPLATE}:${dir}/a;${NGINX_TEMPLATE}:${dir}/a` }, /write .*\/a twice/]
  ]
  for (const [argv, env, message] of cases) t.match(failure(argv, env), message, JSON.stringify({ argv, env }))
})

t.test('the help lists the nginx and render settings', async (t) => {
  t.match(HELP, /--nginx-config <file>\s+LUNA_NGINX_CONFIG\s+\(blank\)/)
  t.match(HELP, /--nginx-listen <\[host:\]port>\s+LUNA_NGINX_LISTEN\s+8080/)
  t.match(HELP, /--nginx-test <command>\s+LUNA_NGINX_TEST\s+nginx -t/)
  t.match(HELP, /--nginx-reload <command>\s+LUNA_NGINX_RELOAD\s+nginx -s reload/)
  t.match(HELP, /--render <template:output\[:command\]>\s+LUNA_RENDER\s+\(blank\)\s+.*repeatable/)
})

t.test('nginx mode and --render: written before the server is ready, then after each change, until it closes', async (t) => {
  const dir = await tempDir(t)
  const nginxConfig = join(dir, 'luna.conf')
  const template = join(dir, 'names.eta')
  await writeFile(template, '<% for (const route of it.routes) { %><%= route.name %>\n\n<% } %>')
  const names = join(dir, 'names.txt')
  const runs = join(dir, 'runs')
  const app = buildServer({
    logLevel: 'silent',
    nginxConfig,
    nginxListen: '127.0.0.1:8099',
    nginxTest: `echo test >> ${runs}`,
    nginxReload: `echo reload >> ${runs}`,
    render: [{ template, output: names, command: `echo render >> ${runs}` }]
  })
  t.teardown(() => app.close())
  await app.ready()
  t.match(await readFile(nginxConfig, 'utf8'), /listen 127\.0\.0\.1:8099;/)
  t.equal(await readFile(names, 'utf8'), '')
  t.equal(await readFile(runs, 'utf8'), 'test\nreload\nrender\n')

  const registered = await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:10.0.0.7:8080', headers: AUTH, payload: { name: 'orders', version: '1', status: 'OK', url: 'http://10.0.0.7:8080/api/' } })
  t.equal(registered.statusCode, 201)
  await until('both files are rendered again', async () => (await readFile(names, 'utf8')) === 'orders\n' || undefined, 3000)
  t.match(await readFile(nginxConfig, 'utf8'), /server 10\.0\.0\.7:8080 weight=1;/)
  await app.close()
  t.equal(await readFile(runs, 'utf8'), 'test\nreload\nrender\ntest\nreload\nrender\n')
})

t.test('blank nginx commands are not run; nginx mode alone', async (t) => {
  const dir = await tempDir(t)
  const nginxConfig = join(dir, 'luna.conf')
  const app = buildServer({ logLevel: 'silent', nginxConfig, nginxTest: '', nginxReload: '' })
  t.teardown(() => app.close())
  await app.ready()
  t.match(await readFile(nginxConfig, 'utf8'), /listen 8080;/)
})

t.test('the files to render: nginx mode with its default commands, then each --render', async (t) => {
  t.same(renderTargets({}), [])
  t.same(renderTargets({ nginxConfig: '' }), [])
  t.same(renderTargets({ nginxConfig: '/etc/nginx/luna.conf', render: [{ template: '/t.eta', output: '/o' }] }), [
    { template: NGINX_TEMPLATE, output: '/etc/nginx/luna.conf', test: 'nginx -t', reload: 'nginx -s reload' },
    { template: '/t.eta', output: '/o', test: undefined }
  ])
})
