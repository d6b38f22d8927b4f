import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import lunaRegistry, { hashPassword, MemoryFailureStore, type LunaRegistryOptions } from '../src/index.js'
import { BROWSER } from './panel-html.js'
import { basic, manualClock, PREFIX } from './helpers.js'

interface Logged { app: FastifyInstance, lines: Array<Record<string, unknown>>, text: () => string }

async function logged (t: Test, options: LunaRegistryOptions): Promise<Logged> {
  const lines: Array<Record<string, unknown>> = []
  let text = ''
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { text += line; lines.push(JSON.parse(line)) } } } })
  await app.register(lunaRegistry, options)
  await app.ready()
  t.teardown(() => app.close())
  return { app, lines, text: () => text }
}

const get = async (app: FastifyInstance, remoteAddress: string, headers: Record<string, string>): Promise<{ status: number, retryAfter: string | undefined, code: string }> => {
  const res = await app.inject({ url: `${PREFIX}/services`, remoteAddress, headers })
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined, code: res.json().code }
}

t.test('an address that fails too often is refused until its window ends; others are not', async (t) => {
  const clock = manualClock()
  const { app, lines, text } = await logged(t, { now: clock.now, auth: { username: 'ops', password: 'right-password', maxFailures: 3 } })
  const right = basic('ops', 'right-password')
  const wrong = basic('ops', 'guess-number-one')
  t.equal((await get(app, '10.0.0.1', right)).status, 200, 'the right password first, from the address that will guess')
  for (let i = 1; i <= 3; i++) t.equal((await get(app, '10.0.0.1', wrong)).status, 401, `guess ${i}`)
  t.same(await get(app, '10.0.0.1', wrong), { status: 429, retryAfter: '60', code: 'FST_LUNA_TOO_MANY_FAILURES' }, 'the next guess is not even looked at')
  t.equal((await get(app, '10.0.0.1', basic('ops', 'right-passwore'))).status, 429, 'nor any other new header')
  t.equal((await get(app, '10.0.0.2', right)).status, 200, 'the right password from another address is unaffected')
  t.equal((await get(app, '10.0.0.2', wrong)).status, 401, 'and so is its first failure')
  t.equal((await get(app, '10.0.0.1', {})).status, 401, 'a request without credentials guesses nothing')
  clock.advance(45_000)
  t.same(await get(app, '10.0.0.1', wrong), { status: 429, retryAfter: '15', code: 'FST_LUNA_TOO_MANY_FAILURES' }, 'Retry-After counts down')
  clock.advance(15_000)
  t.equal((await get(app, '10.0.0.1', wrong)).status, 401, 'once the window has passed, guesses are answered again')
  t.equal((await get(app, '10.0.0.1', right)).status, 200)

  const warnings = lines.filter((line) => line['level'] === 40)
  t.same(warnings.map((line) => [line['address'], line['msg']]), [
    ['10.0.0.1', 'luna-registry: authentication failed; more failures from this address in the next minute are counted, not logged'],
    ['10.0.0.1', 'luna-registry: too many failed authentications; the address is refused until its window ends'],
    ['10.0.0.2', 'luna-registry: authentication failed; more failures from this address in the next minute are counted, not logged'],
    ['10.0.0.1', 'luna-registry: authentication failed; more failures from this address in the next minute are counted, not logged']
  ], 'a line for the first failure of a window and one for the refusal, no more')
  t.match(warnings[0], { username: 'ops' })
  t.notMatch(text(), /guess-number-one|right-password/, 'no password is ever logged')
})

t.test('a header verified before is let through from an address that is refused', async (t) => {
  const passwordHash = await hashPassword('pw')
  const { app } = await logged(t, { auth: { users: [{ username: 'svc', passwordHash, role: 'read' }], maxFailures: 2 } })
  t.equal((await get(app, '10.0.0.1', basic('svc', 'pw'))).status, 200)
  for (let i = 0; i < 2; i++) t.equal((await get(app, '10.0.0.1', basic('svc', 'no'))).status, 401)
  t.equal((await get(app, '10.0.0.1', basic('svc', 'no'))).status, 429)
  t.equal((await get(app, '10.0.0.1', basic('svc', 'pw'))).status, 200, 'its heartbeats go on: they guess nothing')
})

t.test('maxFailures 0 counts nothing; a store of ours is used', async (t) => {
  const added: string[] = []
  const store = new MemoryFailureStore()
  const { app } = await logged(t, {
    auth: {
      username: 'ops',
      password: 'pw',
      failureStore: { get: async (key) => await store.get(key), add: async (key, window) => { added.push(`${key} ${window}`); return await store.add(key, window) } }
    }
  })
  for (let i = 0; i < 11; i++) await get(app, '10.0.0.9', basic('ops', 'no'))
  t.equal(added.length, 10, 'the 11th guess is refused before it is counted')
  t.equal(added[0], '10.0.0.9 60000', 'one-minute windows, per address')
  const unlimited = await logged(t, { auth: { username: 'ops', password: 'pw', maxFailures: 0 } })
  for (let i = 0; i < 20; i++) t.equal((await get(unlimited.app, '10.0.0.9', basic('ops', 'no'))).status, 401)
  t.equal(unlimited.lines.length, 0, 'and logs nothing')
})

t.test('the memory store forgets a window once it has passed', async (t) => {
  const clock = manualClock()
  const store = new MemoryFailureStore(clock.now)
  t.same(await store.get('a'), { count: 0, resetIn: 0 })
  t.same(await store.add('a', 1000), { count: 1, resetIn: 1000 })
  clock.advance(400)
  t.same(await store.add('a', 1000), { count: 2, resetIn: 600 })
  t.same(await store.get('a'), { count: 2, resetIn: 600 })
  clock.advance(600)
  t.same(await store.get('a'), { count: 0, resetIn: 0 })
  t.same(await store.add('a', 1000), { count: 1, resetIn: 1000 })
})

t.test('the panel says when the blank default password is reachable from elsewhere', async (t) => {
  const page = async (options: LunaRegistryOptions, host: string, headers: Record<string, string> = {}): Promise<string> => {
    const app = Fastify()
    await app.register(lunaRegistry, options)
    await app.listen({ port: 0, host })
    t.teardown(() => app.close())
    const port = (app.server.address() as { port: number }).port
    const res = await fetch(`http://127.0.0.1:${port}${PREFIX}/services/`, { headers: { ...BROWSER, ...headers } })
    return await res.text()
  }
  t.match(await page({}, '0.0.0.0'), /<p class="exposed" role="note">This registry listens beyond this machine and accepts the default blank password/)
  t.notMatch(await page({}, '127.0.0.1'), /class="exposed"/, 'not on loopback')
  t.notMatch(await page({ auth: { username: 'admin', password: 'set' } }, '0.0.0.0', basic('admin', 'set')), /class="exposed"/, 'not with a password')
})

t.test('loopback addresses, as the banner tells them', async (t) => {
  const { isLoopback } = await import('../src/auth.js')
  for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(address), address)
  for (const address of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1']) t.notOk(isLoopback(address), address)
})
