import t from 'tap'
import { buildServer } from '../src/index.js'
import { requireRedis, uniquePrefix } from '../../luna-store-redis/test/redis.js'
import { basic, listeningUrl, logLines, server } from './child.js'

const PASSWORD = 'the ops password'

t.test('the default blank password on a non-loopback address is told in one warning line', async (t) => {
  // Three servers started together: each takes a while to start.
  const open = server(t, { LUNA_HOST: '0.0.0.0' })
  const local = server(t, {})
  const set = server(t, { LUNA_HOST: '0.0.0.0', LUNA_AUTH_PASSWORD: PASSWORD })
  await Promise.all([open, local, set].map(listeningUrl))
  const warnings = logLines(open).filter((line) => line['level'] === 40)
  t.equal(warnings.length, 1)
  t.match(warnings[0]!['msg'], /^Anyone who can reach 0\.0\.0\.0:\d+ may change the registry as admin with the default blank password: set LUNA_AUTH_PASSWORD or LUNA_USERS_FILE, or LUNA_HOST=127\.0\.0\.1$/)
  t.equal(logLines(local).filter((line) => line['level'] === 40).length, 0, 'not on loopback')
  t.equal(logLines(set).filter((line) => line['level'] === 40).length, 0, 'not with a password')
})

t.test('replicas on one Redis refuse a guessing address together', async (t) => {
  if (!await requireRedis(t)) return
  const storePrefix = uniquePrefix(t)
  const replicas = [0, 1].map(() => buildServer({ store: 'redis://127.0.0.1:6379', storePrefix, maxFailures: 4, password: PASSWORD, logLevel: 'silent' }))
  t.teardown(async () => { await Promise.all(replicas.map(async (app) => { await app.close() })) })
  const get = async (replica: number, remoteAddress: string, password: string): Promise<number> =>
    (await replicas[replica]!.inject({ url: '/registry/v1/services', remoteAddress, headers: { authorization: basic('admin', password) } })).statusCode
  for (let i = 0; i < 4; i++) t.equal(await get(i % 2, '10.1.1.1', 'guess'), 401, `guess ${i + 1}, at replica ${i % 2}`)
  t.equal(await get(0, '10.1.1.1', 'guess'), 429)
  t.equal(await get(1, '10.1.1.1', 'guess'), 429, 'both replicas refuse it')
  t.equal(await get(1, '10.1.1.2', PASSWORD), 200, 'another address is unaffected')
})
