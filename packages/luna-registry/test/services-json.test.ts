import t from 'tap'
import { AUTH, PREFIX, build, info } from './helpers.js'

const BROWSER = { ...AUTH, accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }

t.test('GET /services/json answers the services JSON, as the original Luna did', async (t) => {
  const app = await build(t)
  for (const id of ['orders:a:1', 'billing:b:1']) {
    const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: info(id.split(':')[0]) })
    t.equal(res.statusCode, 201)
  }
  const alias = await app.inject({ method: 'GET', url: `${PREFIX}/services/json`, headers: AUTH })
  const list = await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })
  t.equal(alias.statusCode, 200)
  t.match(alias.headers['content-type'], /^application\/json/)
  t.same(alias.json(), list.json())
  t.same(alias.json().map((service: { name: string }) => service.name), ['billing', 'orders'])

  const fromBrowser = await app.inject({ method: 'GET', url: `${PREFIX}/services/json`, headers: BROWSER })
  t.match(fromBrowser.headers['content-type'], /^application\/json/, 'JSON for a browser too')

  const filtered = await app.inject({ method: 'GET', url: `${PREFIX}/services/json?status=DOWN`, headers: AUTH })
  t.same(filtered.json(), [], 'the status filter applies')
  const bad = await app.inject({ method: 'GET', url: `${PREFIX}/services/json?status=up`, headers: AUTH })
  t.equal(bad.statusCode, 400)

  const anonymous = await app.inject({ method: 'GET', url: `${PREFIX}/services/json` })
  t.equal(anonymous.statusCode, 401, 'behind the same auth')
})
