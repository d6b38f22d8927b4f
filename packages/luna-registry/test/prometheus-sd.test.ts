import t from 'tap'
import { AUTH, PREFIX, build, info, manualClock, send } from './helpers.js'

t.test('GET /sd/prometheus: one target group per OK instance, with its labels', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await send(app, 'POST', 'orders:10.0.0.7:8080', info('orders', {
    version: '1.4.2',
    url: 'http://10.0.0.7:8080/api/',
    metadata: { zone: 'eu-1', 'team.name': 'shop', metrics_path: '/internal/metrics' }
  }))
  await send(app, 'POST', 'billing:[::1]:9443', info('billing', { url: 'https://[::1]/' }))
  await send(app, 'POST', 'billing:b:1', info('billing', { url: 'http://b/', status: 'DOWN' }))
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/sd/prometheus`, headers: AUTH })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), [
    {
      targets: ['[::1]:443'],
      labels: {
        __meta_luna_service: 'billing',
        __meta_luna_instance_id: 'billing:[::1]:9443',
        __meta_luna_version: '1.0.0',
        __meta_luna_status: 'OK',
        __scheme__: 'https'
      }
    },
    {
      targets: ['10.0.0.7:8080'],
      labels: {
        __meta_luna_service: 'orders',
        __meta_luna_instance_id: 'orders:10.0.0.7:8080',
        __meta_luna_version: '1.4.2',
        __meta_luna_status: 'OK',
        __meta_luna_metadata_metrics_path: '/internal/metrics',
        __meta_luna_metadata_team_name: 'shop',
        __meta_luna_metadata_zone: 'eu-1',
        __metrics_path__: '/internal/metrics'
      }
    }
  ], 'the DOWN instance is left out; the scheme\'s port where the URL names none')
})

t.test('?service= keeps one service; a timed-out instance is left out', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000 })
  await send(app, 'POST', 'orders:a:1', info('orders', { url: 'http://a:1/' }))
  clock.advance(20_000)
  await send(app, 'POST', 'orders:b:1', info('orders', { url: 'http://b:1/' }))
  await send(app, 'POST', 'billing:c:1', info('billing', { url: 'http://c:1/' }))
  clock.advance(10_000)
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/sd/prometheus?service=orders`, headers: AUTH })
  t.same(res.json().map((group: { targets: string[] }) => group.targets[0]), ['b:1'])
  const none = await app.inject({ method: 'GET', url: `${PREFIX}/sd/prometheus?service=nobody`, headers: AUTH })
  t.same(none.json(), [], 'an unknown service is an empty list, as Prometheus expects')
})

t.test('metadata keys that come out the same keep the value of the first in sort order', async (t) => {
  const app = await build(t)
  await send(app, 'POST', 'orders:a:1', info('orders', { url: 'http://a/', metadata: { 'a-b': 'dash', 'a.b': 'dot', é: 'accent' } }))
  const [group] = (await app.inject({ method: 'GET', url: `${PREFIX}/sd/prometheus`, headers: AUTH })).json()
  t.same(group.targets, ['a:80'], 'an http: URL without a port: port 80')
  t.equal(group.labels.__meta_luna_metadata_a_b, 'dash')
  t.equal(group.labels.__meta_luna_metadata__, 'accent')
})

t.test('a bad filter is a 400 naming it; no credentials, a 401', async (t) => {
  const app = await build(t)
  const bad = await app.inject({ method: 'GET', url: `${PREFIX}/sd/prometheus?service=${encodeURIComponent('no such')}`, headers: AUTH })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /querystring\/service/)
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/sd/prometheus` })).statusCode, 401)
})
