import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { until } from '../../../test-support/until.js'
import { openStore, requireRedis, uniquePrefix } from '../../luna-store-redis/test/redis.js'
import { NGINX_TEMPLATE, Renderer } from '../src/index.js'
import { info, startRegistry, tempDir } from './helpers.js'

t.test('with the Redis store, every replica renders its own file from the shared registry', async (t) => {
  if (!await requireRedis(t)) return
  const prefix = uniquePrefix(t)
  const dir = await tempDir(t)
  const replicas = await Promise.all(['a', 'b'].map(async (name) => {
    const registry = await startRegistry(t, await openStore(t, prefix))
    const output = join(dir, `${name}.conf`)
    const renderer = new Renderer({ registry, targets: [{ template: NGINX_TEMPLATE, output }], delay: 50 })
    t.teardown(() => renderer.close())
    await renderer.start()
    return { registry, output }
  }))
  const [a, b] = replicas as [typeof replicas[number], typeof replicas[number]]

  await a.registry.register('orders:10.0.0.7:8080', info('orders', 'http://10.0.0.7:8080/api/', 2))
  await until('replica b renders what a registered', async () => (await readFile(b.output, 'utf8')).includes('server 10.0.0.7:8080 weight=2;') || undefined)
  await b.registry.heartbeat('orders:10.0.0.7:8080', info('orders', 'http://10.0.0.7:8080/api/', 2, 'DOWN'))
  await until('replica a renders the status b received', async () => (await readFile(a.output, 'utf8')).includes('return 503;\n    }\n    location = /gateway/services/orders {\n        return 503;') || undefined)
  t.equal(await readFile(a.output, 'utf8'), await readFile(b.output, 'utf8'), 'the same file on both')
})
