import { Validator } from '@seriousme/openapi-schema-validator'
import Fastify from 'fastify'
import t from 'tap'
import lunaRegistry from 'luna-registry'
import lunaGateway from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

async function documentOf (gatewayAuth: boolean): Promise<{ paths: Record<string, Record<string, { security?: unknown[], responses: Record<string, unknown> }>>, tags: Array<{ name: string }> }> {
  const app = Fastify()
  await app.register(lunaRegistry)
  await app.register(lunaGateway, { auth: gatewayAuth ? { username: 'admin' } : false })
  await app.ready()
  const res = await app.inject({ method: 'GET', url: '/registry/v1/openapi.json', headers: AUTH })
  await app.close()
  const document = res.json()
  const result = await new Validator().validate(document)
  if (!result.valid) throw new Error(`invalid OpenAPI document: ${JSON.stringify(result.errors)}`)
  return document
}

t.test('the registry\'s OpenAPI document describes the gateway beside it as a pass-through', async (t) => {
  const document = await documentOf(false)
  const item = document.paths['/gateway/services/{name}/{path}']
  t.same(Object.keys(item ?? {}).sort(), ['delete', 'get', 'options', 'patch', 'post', 'put'])
  const get = item!['get']!
  t.same(get.security, [], 'outside the registry\'s auth')
  t.same(Object.keys(get.responses).sort(), ['400', '404', '413', '502', '503', '504', 'default'])
  t.match(get.responses['502'], { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
  t.ok(document.tags.some((tag) => tag.name === 'gateway'))
  t.ok(document.paths['/registry/v1/instances/{id}'], 'beside the registry\'s own routes')
})

t.test('a gateway behind the registry\'s auth says so', async (t) => {
  const document = await documentOf(true)
  t.equal(document.paths['/gateway/services/{name}/{path}']!['get']!.security, undefined, 'the document\'s basic auth applies')
})
