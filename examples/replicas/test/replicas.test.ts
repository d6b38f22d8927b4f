import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../../../test-support/redis-server.js'
import { RedisStore } from '../../../packages/luna-store-redis/src/index.js'
import { REDIS_URL, requireRedis, uniquePrefix } from '../../../packages/luna-store-redis/test/redis.js'

t.test('two real luna-server processes on one Redis share registrations and events', async (t) => {
  if (!await requireRedis(t)) return
  const prefix = uniquePrefix(t)
  const child = spawn(process.execPath, ['dist/index.js'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, DEMO_ONLY: '1', PORT_A: String(await freePort()), PORT_B: String(await freePort()), LUNA_STORE_PREFIX: prefix, REDIS_URL },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  t.equal(code, 0, output)
  t.match(output, /registered on A, read on B: orders has 1 instance\(s\) online/)
  t.match(output, /registered on A, B's event stream says: registered orders:10\.0\.0\.8:8080/)
  t.match(output, /deregistered both on B/)
  const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix })
  t.teardown(async () => { await store.close() })
  await store.ready(2000)
  t.same(await store.list(), [], 'what it says it deregistered is gone from Redis')
})
