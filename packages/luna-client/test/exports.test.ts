import t from 'tap'
import * as fastify from '../src/fastify.js'
import * as client from '../src/index.js'

t.test('luna-client exports', async (t) => {
  t.same(Object.keys(client).sort(), [
    'DEFAULT_HEARTBEAT_INTERVAL',
    'DEFAULT_JITTER',
    'DEFAULT_PREFIX',
    'DEFAULT_TIMEOUT',
    'EVENT_TYPES',
    'LunaClient',
    'LunaError',
    'LunaNetworkError',
    'Registration',
    'Watcher',
    'createLunaClient'
  ])
  t.equal(client.DEFAULT_PREFIX, '/registry/v1')
  t.equal(client.DEFAULT_HEARTBEAT_INTERVAL, 10_000)
})

t.test('luna-client/fastify exports the plugin, as default and by name, marked for Fastify', async (t) => {
  t.same(Object.keys(fastify).sort(), ['default', 'lunaClientPlugin'])
  t.equal(fastify.default, fastify.lunaClientPlugin)
  const plugin = fastify.default as unknown as Record<symbol, unknown>
  t.equal(plugin[Symbol.for('skip-override')], true, 'not encapsulated: the decorators reach the app')
  t.match(plugin[Symbol.for('plugin-meta')], { name: 'luna-client', fastify: '5.x' })
})

t.test('the package entry points load without Fastify', async (t) => {
  const { readFile } = await import('node:fs/promises')
  for (const file of ['index.ts', 'client.ts', 'registration.ts', 'watch.ts', 'transport.ts', 'types.ts', 'fastify.ts']) {
    const source = await readFile(new URL(`../src/${file}`, import.meta.url), 'utf8')
    const runtimeImports = [...source.matchAll(/^import (?!type )[^\n]*from '([^']+)'/gm)].map((match) => match[1])
    t.notOk(runtimeImports.some((name) => name === 'fastify' || name === 'luna-registry'), `${file} imports neither at run time`)
  }
})
