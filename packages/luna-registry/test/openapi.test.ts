import { Validator } from '@seriousme/openapi-schema-validator'
import swagger from '@fastify/swagger'
import Fastify, { type RouteOptions } from 'fastify'
import t from 'tap'
import lunaRegistry from '../src/index.js'
import { AUTH, PREFIX, build } from './helpers.js'

type Document = { openapi: string, paths: Record<string, Record<string, { tags?: string[], summary?: string, responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>>, security?: unknown[], components: { schemas: Record<string, unknown>, securitySchemes?: unknown } }

async function documentOf (app: Awaited<ReturnType<typeof build>>): Promise<Document> {
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/openapi.json`, headers: AUTH })
  if (res.statusCode !== 200) throw new Error(`GET /openapi.json: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** The path an OpenAPI document gives a route: its wildcard named for what it stands for. */
const documented = (url: string): string => url.replace(/\/instances\/\*$/, '/instances/{id}').replace(/\/services\/\*$/, '/services/{path}').replace(/\/:(\w+)/g, '/{$1}')

t.test('GET /openapi.json is a valid OpenAPI 3.1 document', async (t) => {
  const app = await build(t)
  const document = await documentOf(app)
  t.equal(document.openapi, '3.1.0')
  const result = await new Validator().validate(document as never)
  t.same(result.errors, undefined, 'no error')
  t.equal(result.valid, true)
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/openapi.json` })).statusCode, 401, 'behind the registry\'s auth')
})

t.test('the document lists every route of the registry; only the docs\' own files are left out', async (t) => {
  const app = Fastify()
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => { routes.push(route) })
  await app.register(lunaRegistry)
  await app.ready()
  t.teardown(() => app.close())
  const document = await documentOf(app)
  const hidden: string[] = []
  let shown = 0
  for (const route of routes) {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      const path = documented(route.url)
      if (route.schema?.hide === true) {
        hidden.push(path)
        continue
      }
      t.ok(document.paths[path]?.[method.toLowerCase()], `${method} ${path}`)
      shown++
    }
  }
  t.same(hidden.map((path) => path.slice(PREFIX.length).replace(/\/assets\/.*$/, '/assets/…')).sort(), [
    '/assets/…', '/assets/…', '/assets/…', '/assets/…', '/assets/…', '/assets/…', '/assets/…', '/assets/…',
    '/docs', '/docs/assets/…', '/docs/assets/…', '/docs/assets/…', '/openapi.json'
  ], 'the panel\'s and the docs\' files, and the document itself')
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item))
  t.equal(operations.length, shown, 'and nothing else')
  for (const operation of operations) t.ok(operation.summary !== undefined && operation.tags?.length === 1, `${operation.summary}: described and tagged`)
})

t.test('every operation describes its errors with the error shape', async (t) => {
  const document = await documentOf(await build(t))
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const status of ['4XX', '5XX']) {
        const schema = operation.responses[status]?.content?.['application/json']?.schema
        t.match(schema, { type: 'object', required: ['statusCode', 'code', 'error', 'message'] }, `${method} ${path} ${status}`)
      }
    }
  }
  t.match(document.components.schemas['Error'], { required: ['statusCode', 'code', 'error', 'message'] })
})

t.test('basic auth is declared when the registry has it, and not otherwise', async (t) => {
  t.same((await documentOf(await build(t))).security, [{ basicAuth: [] }])
  const open = await documentOf(await build(t, { auth: false }))
  t.equal(open.security, undefined)
  t.equal(open.components.securitySchemes, undefined)
})

t.test('a host app\'s own @fastify/swagger and the registry\'s document live side by side', async (t) => {
  const app = Fastify()
  await app.register(swagger, { openapi: { info: { title: 'Shop', version: '1.0.0' } } })
  app.get('/orders', { schema: { summary: 'Orders' } }, async () => [])
  await app.register(lunaRegistry)
  await app.ready()
  t.teardown(() => app.close())
  t.equal((app.swagger() as { info: { title: string } }).info.title, 'Shop', 'the host\'s decorator is the host\'s')
  const luna = await documentOf(app)
  t.notOk(luna.paths['/orders'], 'the registry\'s document has none of the host\'s routes')
  t.ok(luna.paths[`${PREFIX}/instances/{id}`])
})
