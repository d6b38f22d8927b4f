import t from 'tap'
import { privateCluster, privateSentinels } from '../../../test-support/redis-server.js'
import { buildServer } from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

function body (id: string): Record<string, unknown> {
  return { name: id.slice(0, id.indexOf(':')), version: '1.0.0', status: 'OK', url: 'http://h:1/' }
}

t.test('--store redis+cluster://: two servers share the registry on a cluster, healthy', async (t) => {
  const cluster = await privateCluster(t)
  if (cluster === undefined) return
  const [a, b] = [buildServer({ logLevel: 'silent', store: cluster.url }), buildServer({ logLevel: 'silent', store: cluster.url })]
  t.teardown(() => Promise.all([a.close(), b.close()]))
  for (let i = 0; i < 20; i++) {
    const id = `orders:h${i}:1`
    t.equal((await a.inject({ method: 'POST', url: `/registry/v1/instances/${id}`, headers: AUTH, payload: body(id) })).statusCode, 201)
  }
  t.match((await b.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).json(), [{ name: 'orders', instancesTotal: 20 }])
  t.same((await b.inject('/healthz')).json(), { status: 'ok' })
})

t.test('--store redis+sentinel://: the server finds the master through the sentinels, healthy', async (t) => {
  const sentinels = await privateSentinels(t)
  if (sentinels === undefined) return
  const app = buildServer({ logLevel: 'silent', store: `${sentinels.url}?waitTimeout=1000` })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: AUTH, payload: body('orders:h:1') })).statusCode, 201)
  t.equal((await sentinels.replica.cli('DBSIZE')).trim() !== '0', true, 'the replica has it as soon as it is acknowledged')
  t.same((await app.inject('/healthz')).json(), { status: 'ok' })
})
