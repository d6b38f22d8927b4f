import Fastify from 'fastify'
import accepts from '@fastify/accepts'
import t from 'tap'
import lunaRegistry from '../src/index.js'
import { AUTH, PREFIX, build } from './helpers.js'

/** What Chrome sends for a page. */
const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
/** What Firefox sends for a page. */
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

const HTML = [
  CHROME,
  FIREFOX,
  'text/html',
  'TEXT/HTML',
  'text/html, application/json;q=0.9',
  'text/*, application/json;q=0.5',
  // At equal quality, the type named exactly outranks a wildcard, and then the header's order decides.
  'text/html, */*',
  'text/html;q=0.8, application/*;q=0.8',
  'text/html, application/json'
]

const JSON_ = [
  undefined,
  '',
  '*/*',
  'application/json',
  'application/json, text/html',
  'text/html;q=0.5, application/json',
  'text/html;q=0.1, */*',
  'text/html;q=0',
  'application/*, text/*',
  'image/png',
  'text/html;q=abc, application/json;q=0.5'
]

t.test('a browser gets the panel; curl, fetch and every other client get JSON; caches are told it varies', async (t) => {
  const app = await build(t)
  for (const accept of HTML) {
    const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: { ...AUTH, accept } })
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8/, `Accept: ${accept}`)
    t.equal(res.headers.vary, 'Accept')
  }
  for (const accept of JSON_) {
    const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: { ...AUTH, ...(accept === undefined ? {} : { accept }) } })
    t.match(res.headers['content-type'], /^application\/json/, `Accept: ${String(accept)}`)
    t.equal(res.headers.vary, 'Accept')
    t.same(res.json(), [])
  }
})

t.test('a service page follows the same rule', async (t) => {
  const app = await build(t)
  const html = await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: { ...AUTH, accept: FIREFOX } })
  t.equal(html.statusCode, 404)
  t.match(html.headers['content-type'], /^text\/html/)
  t.equal(html.headers.vary, 'Accept')
  const json = await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: { ...AUTH, accept: 'application/json, text/html' } })
  t.equal(json.statusCode, 404)
  t.equal(json.json().code, 'FST_LUNA_SERVICE_NOT_FOUND')
  t.equal(json.headers.vary, 'Accept')
})

t.test('/services/json answers JSON to a browser too', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/json`, headers: { ...AUTH, accept: CHROME } })
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), [])
})

t.test('a host app that registered @fastify/accepts itself keeps it, and the panel still negotiates', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(accepts)
  await app.register(lunaRegistry)
  app.get('/host', async (request) => ({ type: request.accepts().type(['text/plain', 'application/json']) }))
  await app.ready()
  t.match((await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: { ...AUTH, accept: FIREFOX } })).headers['content-type'], /^text\/html/)
  t.same((await app.inject({ method: 'GET', url: '/host', headers: { accept: 'application/json' } })).json(), { type: 'application/json' })
})

t.test('the host app gets no request decorators of the panel', async (t) => {
  const app = await build(t)
  t.notOk(app.hasRequestDecorator('accepts'), 'request.accepts is not added to the host')
})
