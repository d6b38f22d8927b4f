import { once } from 'node:events'
import { request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import { until, within } from '../../../test-support/until.js'
import lunaRegistry from '../src/index.js'
import { AUTH, PREFIX, fill, info, listen, responses, sendOver, stalledSubscriber } from './helpers.js'
import { EventStream } from './sse-client.js'

t.test('a subscriber gets a snapshot first, then every change as it happens', async (t) => {
  const { base } = await listen(t)
  await sendOver(base, 'POST', 'orders:h:1', info('orders', { description: 'before' }))
  const stream = await EventStream.open(`${base}/events`, AUTH)
  t.teardown(() => stream.close())
  t.equal(stream.response.statusCode, 200)
  t.match(stream.response.headers['content-type'], /^text\/event-stream/)
  t.equal(stream.response.headers['cache-control'], 'no-cache, no-transform')

  const snapshot = await stream.next()
  t.equal(snapshot.event, 'snapshot', 'the snapshot comes first')
  t.match(snapshot.data, [{ name: 'orders', description: 'before', instances: [{ instanceId: 'orders:h:1' }] }])

  await sendOver(base, 'POST', 'billing:h:2', info('billing'))
  const registered = await stream.next()
  t.match(registered, { event: 'registered', data: { type: 'registered', service: 'billing', instanceId: 'billing:h:2', created: true, instance: { status: 'OK' } } })
  t.ok(Number(registered.id) > Number(snapshot.id), 'ids increase')

  await sendOver(base, 'PUT', 'billing:h:2', info('billing', { version: '2.0.0' }))
  t.match(await stream.next(), { event: 'updated', data: { instanceId: 'billing:h:2', instance: { version: '2.0.0' } } })

  // A heartbeat that changes the status and the info is one event: the status, with the new instance.
  await sendOver(base, 'PUT', 'billing:h:2', info('billing', { version: '2.1.0', status: 'DOWN' }))
  t.match(await stream.next(), { event: 'status', data: { previous: 'OK', status: 'DOWN', reason: 'reported', instance: { version: '2.1.0', reportedStatus: 'DOWN' } } })

  await sendOver(base, 'DELETE', 'billing:h:2')
  t.match(await stream.next(), { event: 'deregistered', data: { instanceId: 'billing:h:2', service: 'billing' } })
})

t.test('a missed heartbeat streams as a status event, then an eviction', async (t) => {
  const { base } = await listen(t, { evictAfter: 300, heartbeatTimeout: 200, sweepInterval: 20 })
  const stream = await EventStream.open(`${base}/events`, AUTH)
  t.teardown(() => stream.close())
  await stream.next('snapshot')
  await sendOver(base, 'POST', 'orders:h:1', info())
  t.match(await stream.next(), { event: 'registered' })
  // No heartbeat: DOWN at 200 ms, evicted 300 ms later.
  t.match(await stream.next(), { event: 'status', data: { instanceId: 'orders:h:1', previous: 'OK', status: 'DOWN', reason: 'timeout' } })
  t.match(await stream.next(), { event: 'evicted', data: { instanceId: 'orders:h:1', instance: { status: 'DOWN' } } })
})

t.test('DOWN is announced within a second of the deadline, on the real clock', async (t) => {
  const { base } = await listen(t, { heartbeatTimeout: '1s' })
  const stream = await EventStream.open(`${base}/events`, AUTH)
  t.teardown(() => stream.close())
  await stream.next('snapshot')
  await sendOver(base, 'POST', 'orders:h:1', info())
  const deadline = Date.now() + 1000
  const down = await stream.next('status', 3000)
  const late = Date.now() - deadline
  t.match(down.data, { status: 'DOWN', reason: 'timeout' })
  t.ok(late < 1000, `announced ${late} ms after the deadline`)
  t.ok(late > -50, 'not before the deadline')
})

t.test('?service= narrows the snapshot and the events to one service', async (t) => {
  const { base } = await listen(t)
  await sendOver(base, 'POST', 'orders:h:1', info('orders'))
  await sendOver(base, 'POST', 'billing:h:1', info('billing'))
  const stream = await EventStream.open(`${base}/events?service=billing`, AUTH)
  t.teardown(() => stream.close())
  const snapshot = await stream.next('snapshot')
  t.same((snapshot.data as Array<{ name: string }>).map((s) => s.name), ['billing'])
  await sendOver(base, 'POST', 'orders:h:2', info('orders'))
  await sendOver(base, 'POST', 'billing:h:2', info('billing'))
  const next = await stream.next()
  t.equal((next.data as { instanceId: string }).instanceId, 'billing:h:2', 'the other service is filtered out')
  const unknown = await EventStream.open(`${base}/events?service=nobody`, AUTH)
  t.teardown(() => unknown.close())
  t.same((await unknown.next('snapshot')).data, [], 'a service with no instances yet has an empty snapshot')
})

t.test('the stream is behind the same auth, and its filter is validated', async (t) => {
  const { base } = await listen(t)
  const anonymous = await fetch(`${base}/events`)
  t.equal(anonymous.status, 401)
  t.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="Luna"')
  const bad = await fetch(`${base}/events?service=no%20spaces`, { headers: AUTH })
  t.equal(bad.status, 400)
  t.match(await bad.json(), { code: 'FST_ERR_VALIDATION', message: /querystring\/service must be a service name/ })
})

t.test('idle streams get keep-alive comments', async (t) => {
  const { base } = await listen(t, { events: { keepAlive: 50 } })
  const stream = await EventStream.open(`${base}/events`, AUTH)
  t.teardown(() => stream.close())
  await stream.next('snapshot')
  await until('two keep-alive comments', () => stream.comments.filter((comment) => comment === 'keep-alive').length >= 2 || undefined, 2000)
  t.pass('an idle stream is kept alive')
})

t.test('closing the app ends every stream cleanly and promptly', async (t) => {
  const app = Fastify()
  await app.register(lunaRegistry)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${PREFIX}`
  const streams = await Promise.all([1, 2, 3].map(async () => await EventStream.open(`${base}/events`, AUTH)))
  for (const stream of streams) await stream.next('snapshot')
  t.equal(app.lunaRegistry.listenerCount('event'), 1, 'one listener serves every stream')
  // The clients never leave: a close that waited for their streams would never end.
  await within('the app closes', app.close())
  for (const stream of streams) {
    await new Promise((resolve) => { if (stream.ended) resolve(undefined); else stream.response.once('close', resolve) })
    t.ok(stream.ended)
    t.ok(stream.response.complete, 'ended by the server with a complete response, not cut off')
  }
  t.equal(app.lunaRegistry.listenerCount('event'), 0, 'no listener left behind')
})

t.test('a subscriber that goes away is forgotten', async (t) => {
  const { app, base } = await listen(t)
  const stream = await EventStream.open(`${base}/events`, AUTH)
  await stream.next('snapshot')
  t.equal(app.lunaRegistry.listenerCount('event'), 1)
  stream.close()
  await until('the subscriber is forgotten', () => app.lunaRegistry.listenerCount('event') === 0 || undefined, 2000)
  t.pass('no listener left behind')
})

t.test('a subscriber that does not read is dropped, not buffered for without bound', async (t) => {
  const { app, base } = await listen(t, { events: { maxBuffer: 64 * 1024 } })
  const socket = stalledSubscriber(t, base)
  const closed = once(socket, 'close')
  await until('subscribed', () => app.lunaRegistry.listenerCount('event') === 1 || undefined, 3000)
  const description = 'x'.repeat(1000)
  let writes = 0
  while (app.lunaRegistry.listenerCount('event') > 0 && writes < 20_000) {
    await app.lunaRegistry.register(`orders:h${writes % 50}:1`, { ...info('orders', { description: `${writes}${description}` }) } as never)
    writes++
    if (writes % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  t.equal(app.lunaRegistry.listenerCount('event'), 0, `dropped after ${writes} events`)
  socket.resume() // reading now drains what was sent before the server hung up
  await within('its connection is closed', closed, 3000)
  const status = await fetch(`${base}/services`, { headers: AUTH })
  t.equal(status.status, 200, 'the registry carries on')
  t.match(await status.json(), [{ name: 'orders', instancesTotal: 50 }])
})

t.test('a snapshot larger than maxBuffer is delivered, not mistaken for a slow reader', async (t) => {
  const { app, base } = await listen(t, { events: { maxBuffer: 16 * 1024 } })
  for (let i = 0; i < 200; i++) {
    await app.lunaRegistry.register(`orders:h${i}:1`, info('orders', { description: 'd'.repeat(500) }) as never)
  }
  const stream = await EventStream.open(`${base}/events`, AUTH)
  t.teardown(() => stream.close())
  const snapshot = await stream.next('snapshot')
  t.equal((snapshot.data as Array<{ instancesTotal: number }>)[0]?.instancesTotal, 200, 'all 200 instances, about 150 KB')
  await app.lunaRegistry.register('orders:late:1', info('orders') as never)
  t.match(await stream.next(), { event: 'registered', data: { instanceId: 'orders:late:1' } }, 'and the stream goes on')
})

t.test('HEAD /events answers the headers of a stream at once, and subscribes nobody', async (t) => {
  const { app, base } = await listen(t)
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`${base}/events`, { method: 'HEAD', headers: AUTH, timeout: 3000 }, resolve)
    req.on('timeout', () => req.destroy(new Error('HEAD /events did not answer within 3 s')))
    req.on('error', reject)
    req.end()
  })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/event-stream/)
  t.equal(response.headers['cache-control'], 'no-cache, no-transform')
  response.resume()
  await new Promise((resolve) => response.once('end', resolve))
  t.equal(app.lunaRegistry.listenerCount('event'), 0, 'no subscriber left behind')
  const anonymous = await fetch(`${base}/events`, { method: 'HEAD' })
  t.equal(anonymous.status, 401, 'behind the same auth')
})

t.test('a subscriber that does not read a large snapshot is dropped once its time is up', async (t) => {
  const { app, base } = await listen(t, { events: { snapshotTimeout: 300 } })
  const seen = responses(app)
  // Far more than the kernel's socket buffers take from a client that does not read.
  await fill(app.lunaRegistry, 1200, 40, 20_000)
  stalledSubscriber(t, base)
  await until('subscribed', () => app.lunaRegistry.listenerCount('event') === 1 || undefined, 3000)
  const started = Date.now()
  await until('dropped', () => app.lunaRegistry.listenerCount('event') === 0 || undefined, 5000)
  t.pass(`dropped after ${Date.now() - started} ms`)
  const response = seen[0]!
  t.ok(response.destroyed, 'its connection is closed')
  t.ok((response.socket?.bytesWritten ?? 0) < 20e6, 'before the snapshot was made whole')
  const status = await fetch(`${base}/services?limit=1`, { headers: AUTH })
  t.equal(status.status, 200, 'the registry carries on')
  t.equal((await status.json() as unknown[]).length, 1)
})

t.test('events that arrive while a snapshot is unread count against maxBuffer', async (t) => {
  const { app, base } = await listen(t, { events: { maxBuffer: 64 * 1024, snapshotTimeout: '1m' } })
  await fill(app.lunaRegistry, 1200, 40, 20_000)
  stalledSubscriber(t, base)
  await until('subscribed', () => app.lunaRegistry.listenerCount('event') === 1 || undefined, 3000)
  const description = 'x'.repeat(1000)
  let writes = 0
  while (app.lunaRegistry.listenerCount('event') > 0 && writes < 2000) {
    await app.lunaRegistry.register(`late:h${writes % 50}:1`, info('late', { description: `${writes}${description}` }) as never)
    writes++
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.equal(app.lunaRegistry.listenerCount('event'), 0, `dropped after ${writes} events`)
  t.ok(writes < 200, 'once they passed maxBuffer, not at the snapshot deadline')
})

t.test('a subscriber that reads gets a snapshot of many pieces whole, then the events that came meanwhile', async (t) => {
  const { app, base } = await listen(t, { events: { maxBuffer: 16 * 1024 } })
  await fill(app.lunaRegistry, 300, 7, 2000)
  const stream = await EventStream.open(`${base}/events`, AUTH)
  t.teardown(() => stream.close())
  // The snapshot was taken before the stream's headers were sent.
  const expected = JSON.parse(JSON.stringify(await app.lunaRegistry.listServices()))
  await app.lunaRegistry.register('late:h:1', info('late') as never)
  const snapshot = await stream.next()
  t.equal(snapshot.event, 'snapshot')
  t.same(snapshot.data, expected)
  t.match(await stream.next(), { event: 'registered', data: { instanceId: 'late:h:1' } })
})
