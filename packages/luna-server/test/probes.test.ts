import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import t from 'tap'
import { endedWithin, parseHead, rawConnection } from '../../../test-support/raw-http.js'
import { privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { buildServer, READY_TIMEOUT } from '../src/index.js'

t.test('/livez and /readyz answer ok without auth, beside /healthz', async (t) => {
  const app = buildServer({ logLevel: 'silent', password: 'secret' })
  t.teardown(() => app.close())
  for (const path of ['/livez', '/readyz', '/healthz']) {
    const res = await app.inject({ method: 'GET', url: path })
    t.equal(res.statusCode, 200, path)
    t.same(res.json(), { status: 'ok' }, path)
  }
})

t.test('/readyz is 503 once the server is closing', async (t) => {
  const app = buildServer({ logLevel: 'silent' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  // A probe whose request is still arriving when the close begins.
  const probe = await rawConnection(t, port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n')
  await until('the server holds the connection', () => app.server.listening || undefined)
  const closed = app.close()
  probe.socket.write('\r\n')
  const answer = await endedWithin(probe, 5000)
  await closed
  t.equal(parseHead(answer).status, 503)
  t.equal(parseHead(answer).headers.connection, 'close')
})

t.test('/readyz is 503 when the store fails, whatever the failure, and 200 again after', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const app = buildServer({ logLevel: 'silent', store: redis.url })
  t.teardown(() => app.close())
  await app.ready()
  const ready = async (): Promise<[number, unknown]> => {
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    return [res.statusCode, res.json()]
  }
  t.same(await ready(), [200, { status: 'ok' }])

  // A read-only replica: connected and answering reads, so /healthz is content, but no write
  // of the registry's would succeed.
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  await admin.replicaof('127.0.0.1', '1')
  t.same(await ready(), [503, { status: 'store unavailable' }], 'read-only')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 503, '/healthz too: a store that refuses writes is not available')
  await admin.replicaof('NO', 'ONE')
  t.same(await ready(), [200, { status: 'ok' }], 'writable again')

  // Frozen: the connection stays open and nothing is answered.
  redis.pause()
  const started = Date.now()
  const frozen = await ready()
  const took = Date.now() - started
  redis.resume()
  t.same(frozen, [503, { status: 'store unavailable' }], 'no answer in time')
  t.ok(took < READY_TIMEOUT + 500, `answered while the store did not (${took} ms)`)

  await redis.stop()
  t.same(await ready(), [503, { status: 'store unavailable' }], 'connection refused')
  await redis.start()
  await until('ready again', async () => (await ready())[0] === 200 || undefined, 10_000)
  t.pass('ready again without a restart')
})
