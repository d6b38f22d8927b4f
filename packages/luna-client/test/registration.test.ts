import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { until } from '../../../test-support/until.js'
import { createLunaClient, LunaError, LunaNetworkError, type FailureDetails, type InstanceView, type LunaClientError } from '../src/index.js'
import { credentials, freePort, instanceInfo, next, startRegistry, TestRegistry, watchRejections } from './helpers.js'

const ID = 'orders:127.0.0.1:8080'

t.test('registers, then heartbeats every interval', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const handle = client.register({ ...instanceInfo, metadata: { zone: 'eu-1' } }, { heartbeatInterval: 100, jitter: 0 })
  t.teardown(async () => { await handle.deregister() })
  const registered = next<[InstanceView, { created: boolean }]>(handle, 'registered')

  const instance = await handle.ready()
  t.equal(handle.instanceId, ID, 'the id comes from the name and the URL')
  t.match(instance, { instanceId: ID, status: 'OK', version: '1.4.2', metadata: { zone: 'eu-1' } })
  t.match((await registered)[1], { created: true })
  t.ok(handle.registered)
  t.match(await registry.get(`/instances/${ID}`), { status: 'OK' }, 'the registry lists it')

  const [beat] = await next<[InstanceView]>(handle, 'heartbeat', 1000)
  t.ok(beat.lastHeartbeat > instance.lastHeartbeat, 'a heartbeat refreshes lastHeartbeat')
  const beats: number[] = []
  handle.on('heartbeat', () => { beats.push(Date.now()) })
  await until('three more heartbeats', () => beats.length >= 3 ? true : undefined, 2000)
  const gaps = beats.slice(1).map((time, index) => time - beats[index]!)
  t.ok(gaps.every((gap) => gap >= 90), `heartbeats are not early: ${gaps.join(', ')} ms`)
})

t.test('heartbeats nobody reads ask for no view (204); a heartbeat listener or setStatus gets it (200)', async (t) => {
  const registry = await startRegistry(t)
  const handle = createLunaClient(registry.url).register(instanceInfo, { heartbeatInterval: 100, jitter: 0 })
  t.teardown(async () => { await handle.deregister() })
  const registered = await handle.ready()
  await until('two heartbeats', () => registry.writesFor(ID).length >= 3 || undefined, 2000)
  t.same(registry.writesSeen(ID).slice(0, 3), ['POST 201', 'PUT 204', 'PUT 204'], 'Prefer: return=minimal, honoured')
  t.same(handle.instance, registered, 'the last view the registry sent is kept')
  t.ok(handle.registered)

  const down = await handle.setStatus('DOWN')
  t.equal(down?.reportedStatus, 'DOWN', 'setStatus resolves with the view')
  t.equal(registry.writesSeen(ID).at(-1), 'PUT 200')
  t.same(handle.instance, down)

  const [beat] = await next<[InstanceView]>(handle, 'heartbeat', 1000)
  t.equal(registry.writesSeen(ID).at(-1), 'PUT 200', 'a heartbeat listener gets the view')
  t.ok(beat.lastHeartbeat > down!.lastHeartbeat)
})

t.test('registry restarted on the same port: registered again within one heartbeat interval', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const interval = 1000
  const handle = client.register(instanceInfo, { heartbeatInterval: interval, jitter: 0 })
  t.teardown(async () => { await handle.deregister() })
  await handle.ready()

  await registry.stop()
  await registry.start()
  t.equal(await registry.get(`/instances/${ID}`), undefined, 'the new registry starts empty')
  const [instance, { created }] = await next<[InstanceView, { created: boolean }]>(handle, 'registered', 10_000)
  t.equal(created, true, 'registered anew after the heartbeat got a 404')
  t.equal(instance.status, 'OK')
  // Heartbeats come every interval: the first to reach the new registry is the one that counts.
  t.same(registry.writesSeen(ID), ['PUT 404', 'POST 201'], 'the first heartbeat it gets, refused, is followed by the registration')
  const [refused, registration] = registry.writesFor(ID)
  // At once: a round trip, not another turn of the heartbeat's timer.
  t.ok(registration!.at - refused!.at < interval / 2, `the registration came ${Math.round(registration!.at - refused!.at)} ms after the 404`)
  t.match(await registry.get(`/instances/${ID}`), { status: 'OK' })
})

t.test('registry away for several heartbeats: heartbeats back off, and the instance is back within one interval of its return', async (t) => {
  const rejections = watchRejections()
  t.teardown(rejections.stop)
  const registry = await startRegistry(t)
  const interval = 200
  const handle = createLunaClient(registry.url).register(instanceInfo, { heartbeatInterval: interval, jitter: 0 })
  t.teardown(async () => { await handle.deregister() })
  await handle.ready()
  const failures: FailureDetails[] = []
  handle.on('error', (_error, details) => { failures.push(details) })

  await registry.stop()
  await until('six failed heartbeats', () => failures.length >= 6 ? true : undefined, 5000)
  t.same(failures.slice(0, 6), [
    { operation: 'heartbeat', retryIn: 20 },
    { operation: 'heartbeat', retryIn: 40 },
    { operation: 'heartbeat', retryIn: 80 },
    { operation: 'heartbeat', retryIn: 160 },
    { operation: 'heartbeat', retryIn: 200 },
    { operation: 'heartbeat', retryIn: 200 }
  ], 'capped at the interval')
  t.notOk(handle.registered)

  await registry.start()
  await next(handle, 'registered', 10_000)
  t.ok(failures.every(({ retryIn }) => retryIn !== undefined && retryIn <= interval), 'no wait was longer than the interval')
  t.same(registry.writesSeen(ID), ['PUT 404', 'POST 201'], 'and the first heartbeat to reach the registry registers again at once')
  t.ok(handle.registered)
  t.same(rejections.seen, [])
})

t.test('registry unreachable: capped exponential backoff, no crash, no unhandled rejection', async (t) => {
  const rejections = watchRejections()
  t.teardown(rejections.stop)
  const port = await freePort()
  const client = createLunaClient(`http://ops:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}`)
  const interval = 400
  const handle = client.register(instanceInfo, { heartbeatInterval: interval, jitter: 0 })
  // A second handle nobody listens to: its failures must not throw.
  const quiet = client.register({ ...instanceInfo, name: 'billing' }, { heartbeatInterval: interval })
  t.teardown(async () => { await client.close() })

  const failures: Array<{ error: LunaClientError, details: FailureDetails, at: number }> = []
  handle.on('error', (error, details) => { failures.push({ error, details, at: Date.now() }) })
  await until('five failed attempts', () => failures.length >= 5 ? true : undefined, 3000)

  t.same(failures.slice(0, 5).map(({ details }) => details.retryIn), [40, 80, 160, 320, 400], 'waits double from a tenth of the interval, capped at the interval')
  t.ok(failures.every(({ error }) => error instanceof LunaNetworkError && error.code === 'LUNA_CLIENT_NETWORK_ERROR'))
  t.ok(failures.every(({ details }) => details.operation === 'register'))
  t.match(failures[0]!.error.message, /ECONNREFUSED/)
  t.notOk(failures[0]!.error.message.includes('cr'), 'messages never carry the password')
  // Each retry waits: timers count from the event loop's cached time, which a busy loop leaves
  // behind by a few milliseconds, so a wait is only known to be more than half of what it was.
  const gaps = failures.slice(1, 5).map(({ at }, index) => at - failures[index]!.at)
  t.ok(gaps.every((gap, index) => gap >= [40, 80, 160, 320][index]! / 2), `no retry without its wait: ${gaps.join(', ')} ms`)
  t.notOk(handle.registered)

  const registry = new TestRegistry()
  registry.port = port
  await registry.start()
  t.teardown(async () => { await registry.stop() })
  await handle.ready()
  await quiet.ready()
  t.ok(failures.every(({ details }) => details.retryIn !== undefined && details.retryIn <= interval), 'no wait was longer than the interval')
  t.same(registry.writesSeen(ID), ['POST 201'], 'the first attempt to reach the registry registers')
  t.ok(handle.registered)
  t.same(rejections.seen, [], 'no unhandled rejection')
})

t.test('setStatus sends a heartbeat at once: DOWN takes the instance out of rotation, OK puts it back', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  // A long interval: only setStatus can explain a change.
  const handle = client.register(instanceInfo, { heartbeatInterval: 60_000 })
  t.teardown(async () => { await handle.deregister() })
  await handle.ready()

  const down = await handle.setStatus('DOWN')
  t.match(down, { status: 'DOWN', reportedStatus: 'DOWN' }, 'resolves with the registry\'s view')
  t.match(await registry.get(`/instances/${ID}`), { status: 'DOWN', reportedStatus: 'DOWN' }, 'visible at once')
  t.same(await client.instances({ service: 'orders', status: 'OK' }), [])
  await t.rejects(client.pick('orders'), { statusCode: 503, code: 'FST_LUNA_NO_INSTANCE_AVAILABLE' })
  t.equal(handle.info.status, 'DOWN', 'later heartbeats keep saying DOWN')

  t.match(await handle.setStatus('OK'), { status: 'OK' })
  t.match(await client.pick('orders'), { instanceId: ID })
  t.rejects(async () => { await handle.setStatus('up' as 'OK') }, TypeError)
})

t.test('update changes the info and sends it at once', async (t) => {
  const registry = await startRegistry(t)
  const handle = createLunaClient(registry.url).register(instanceInfo, { heartbeatInterval: 60_000 })
  t.teardown(async () => { await handle.deregister() })
  await handle.ready()
  t.match(await handle.update({ version: '1.5.0', metadata: { build: '77' } }), { version: '1.5.0', metadata: { build: '77' } })
  t.match(await registry.get(`/instances/${ID}`), { version: '1.5.0', metadata: { build: '77' } })
})

t.test('removed from the registry by someone else: the next heartbeat registers it again', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const handle = client.register(instanceInfo, { heartbeatInterval: 100 })
  t.teardown(async () => { await handle.deregister() })
  await handle.ready()
  const again = next<[InstanceView, { created: boolean }]>(handle, 'registered', 1000)
  const response = await fetch(`${registry.base}/instances/${ID}`, { method: 'DELETE', headers: { authorization: `Basic ${Buffer.from(`ops:${credentials.password}`).toString('base64')}` } })
  t.equal(response.status, 204)
  t.match((await again)[1], { created: true })
  t.match(await registry.get(`/instances/${ID}`), { status: 'OK' })
})

t.test('deregister stops the heartbeats and removes the instance', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const handle = client.register(instanceInfo, { heartbeatInterval: 50 })
  await handle.ready()
  const deregistered = next<[{ removed: boolean }]>(handle, 'deregistered')
  const first = handle.deregister()
  t.equal(handle.deregister(), handle.deregister(), 'calling again returns the same promise')
  t.equal(await first, true)
  t.same(await deregistered, [{ removed: true }])
  t.equal(await registry.get(`/instances/${ID}`), undefined, 'gone from the registry')
  t.ok(handle.stopped)
  t.notOk(handle.registered)

  let beats = 0
  handle.on('heartbeat', () => { beats++ })
  handle.on('registered', () => { beats++ })
  t.equal(await handle.setStatus('DOWN'), undefined, 'nothing is sent once stopped')
  // A sibling on the same pace: while it heartbeats three times, the stopped one would have too.
  const sibling = client.register({ ...instanceInfo, name: 'billing' }, { heartbeatInterval: 50 })
  t.teardown(async () => { await sibling.deregister() })
  let siblingBeats = 0
  sibling.on('heartbeat', () => { siblingBeats++ })
  await until('three heartbeats of the sibling', () => siblingBeats >= 3 || undefined)
  t.equal(beats, 0, 'no request after deregistering')
  t.same(registry.writesSeen(ID), ['POST 201', 'DELETE 204'], 'nothing reached the registry after the DELETE')
  t.equal(await registry.get(`/instances/${ID}`), undefined, 'and nothing resurrects it')
})

t.test('deregister while a registration is in flight: the registration cannot land after the DELETE', async (t) => {
  const registry = await startRegistry(t)
  // Only the POST is held back: until a DELETE has been answered (what a client that does not wait
  // for its registration would send at once), or else for a while. Either way it then lands.
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const timer = setTimeout(release, 300)
  t.teardown(() => { clearTimeout(timer) })
  let posted!: () => void
  const posting = new Promise<void>((resolve) => { posted = resolve })
  const holdPost: typeof fetch = async (input, init) => {
    if (init?.method === 'POST') {
      posted()
      await held
      return await fetch(input, init)
    }
    const response = await fetch(input, init)
    if (init?.method === 'DELETE') release()
    return response
  }
  const handle = createLunaClient({ url: registry.url, fetch: holdPost }).register(instanceInfo)
  await posting
  t.equal(await handle.deregister(), true)
  t.equal(await registry.get(`/instances/${ID}`), undefined, 'the registration did not land after the DELETE')
})

t.test('deregistered before it ever registered: ready() rejects, deregister() resolves false', async (t) => {
  const handle = createLunaClient({ url: `http://127.0.0.1:${await freePort()}`, timeout: 500 }).register(instanceInfo)
  await next(handle, 'error')
  t.equal(await handle.deregister(), false)
  await t.rejects(handle.ready(), /deregistered before/)
})

t.test('deregister with the registry away resolves false and reports the error', async (t) => {
  const rejections = watchRejections()
  t.teardown(rejections.stop)
  const registry = await startRegistry(t)
  const handle = createLunaClient({ url: registry.url, timeout: 500 }).register(instanceInfo, { heartbeatInterval: 60_000 })
  await handle.ready()
  await registry.stop()
  const errors: Array<[LunaClientError, FailureDetails]> = []
  handle.on('error', (error, details) => { errors.push([error, details]) })
  t.equal(await handle.deregister(), false)
  t.equal(errors.length, 1)
  t.match(errors[0]?.[1], { operation: 'deregister', retryIn: undefined })
  t.same(rejections.seen, [])
})

t.test('a registration the registry refuses rejects ready() with its error and is retried at the heartbeat pace', async (t) => {
  const registry = await startRegistry(t)
  const handle = createLunaClient(registry.url).register(instanceInfo, { instanceId: 'billing:127.0.0.1:8080', heartbeatInterval: 300, jitter: 0 })
  t.teardown(async () => { await handle.deregister() })
  const failed = next<[LunaClientError, FailureDetails]>(handle, 'error')
  const error = await handle.ready().then(() => undefined, (error: unknown) => error)
  t.ok(error instanceof LunaError)
  t.match(error, { statusCode: 400, code: 'FST_LUNA_INSTANCE_ID_MISMATCH', message: /body\/name/ })
  t.match((await failed)[1], { operation: 'register', retryIn: 300 })
})

t.test('wrong credentials: a LunaError with the registry\'s 401', async (t) => {
  const registry = await startRegistry(t)
  const handle = createLunaClient(`http://ops:wrong@127.0.0.1:${registry.port}`).register(instanceInfo, { heartbeatInterval: 60_000 })
  t.teardown(async () => { await handle.deregister() })
  await t.rejects(handle.ready(), { name: 'LunaError', statusCode: 401 })
})

t.test('never two requests at once, however slow the registry and however often setStatus is called', async (t) => {
  const registry = await startRegistry(t)
  let inFlight = 0
  let most = 0
  const slow: typeof fetch = async (input, init) => {
    inFlight++
    most = Math.max(most, inFlight)
    try {
      await sleep(60)
      return await fetch(input, init)
    } finally {
      inFlight--
    }
  }
  const handle = createLunaClient({ url: registry.url, fetch: slow }).register(instanceInfo, { heartbeatInterval: 10 })
  let beats = 0
  handle.on('heartbeat', () => { beats++ })
  await handle.ready()
  const answers = await Promise.all([handle.setStatus('DOWN'), handle.setStatus('OK'), handle.setStatus('DOWN')])
  t.equal(answers.at(-1)?.status, 'DOWN', 'the last status wins')
  // Heartbeats due every 10 ms, each taking longer than that, beside the calls above.
  const before = beats
  await until('two more heartbeats', () => beats >= before + 2 || undefined)
  await handle.deregister()
  t.equal(most, 1, 'one request at a time')
  t.match(await registry.get(`/instances/${ID}`), undefined)
})

t.test('options are checked when registering', async (t) => {
  const client = createLunaClient('http://127.0.0.1:1')
  t.throws(() => client.register(instanceInfo, { heartbeatInterval: 0 }), { name: 'TypeError', message: /heartbeatInterval/ })
  t.throws(() => client.register(instanceInfo, { jitter: 1 }), { name: 'TypeError', message: /jitter/ })
  t.throws(() => client.register(instanceInfo, { backoff: { maxDelay: -1 } }), { name: 'TypeError', message: /backoff.maxDelay/ })
  t.throws(() => client.register({ ...instanceInfo, url: 'not a url' }), { name: 'TypeError', message: /instanceId/ })
})

t.test('the instance id: from the URL, IPv6 in brackets, default ports; or given', async (t) => {
  const client = createLunaClient('http://127.0.0.1:1')
  const ids = [
    client.register({ ...instanceInfo, url: 'http://[::1]:9000/' }),
    client.register({ ...instanceInfo, url: 'https://orders.internal/' }),
    client.register({ ...instanceInfo, url: 'http://orders.internal/api' }),
    client.register({ ...instanceInfo, instanceId: 'orders:a:1' }),
    client.register(instanceInfo, { instanceId: 'orders:b:2' })
  ]
  t.same(ids.map((handle) => handle.instanceId), ['orders:[::1]:9000', 'orders:orders.internal:443', 'orders:orders.internal:80', 'orders:a:1', 'orders:b:2'])
  await client.close()
})

t.test('an IPv6 instance id travels intact', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const handle = client.register({ ...instanceInfo, url: 'http://[::1]:9000/' }, { heartbeatInterval: 60_000 })
  t.teardown(async () => { await handle.deregister() })
  await handle.ready()
  t.match(await client.instance('orders:[::1]:9000'), { instanceId: 'orders:[::1]:9000', url: 'http://[::1]:9000/' })
  t.match(await handle.setStatus('DOWN'), { instanceId: 'orders:[::1]:9000', status: 'DOWN' })
})
