import { sampleRecord } from 'luna-registry/testing'
import t from 'tap'
import { privateCluster } from '../../../test-support/redis-server.js'
import { RedisStore } from '../src/index.js'

/** How many WAIT commands the masters of the cluster have run between them. */
async function waits (nodes: Array<{ cli: (...args: string[]) => Promise<string> }>): Promise<number> {
  const stats = await Promise.all(nodes.map((node) => node.cli('INFO', 'commandstats')))
  return stats.reduce((sum, text) => sum + Number(/cmdstat_wait:calls=(\d+)/.exec(text)?.[1] ?? 0), 0)
}

t.test('on a cluster whose masters have replicas, a registration is on its master\'s replica when it resolves', async (t) => {
  const cluster = await privateCluster(t, 3, 1)
  if (cluster === undefined) return
  const store = new RedisStore({ url: cluster.url, keyPrefix: 'luna-cluster-wait:' })
  t.teardown(() => store.close())
  await store.ready()
  for (let i = 0; i < 12; i++) await store.register(sampleRecord({ instanceId: `orders:10.0.0.${i}:8080` }))
  // What the masters hold, their replicas hold the moment the registrations resolve.
  const sizes = await Promise.all(cluster.nodes.map(async (node) => [
    (await node.cli('INFO', 'replication')).includes('role:master'), Number((await node.cli('DBSIZE')).trim())
  ] as const))
  const [onMasters, onReplicas] = [true, false].map((master) => sizes.filter(([role]) => role === master).reduce((sum, [, size]) => sum + size, 0))
  t.ok(onMasters! > 0, `the masters hold ${onMasters} keys`)
  t.equal(onReplicas, onMasters, 'and the replicas as many')
  t.equal(await waits(cluster.nodes), 12, 'every registration waited for its master\'s replica')
  t.equal((await store.list()).length, 12)
  await store.remove('orders:10.0.0.0:8080')
  t.equal(await waits(cluster.nodes), 13, 'and the deregistration too')
})
