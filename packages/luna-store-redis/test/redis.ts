import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { RedisStore, type RedisStoreOptions } from '../src/index.js'

export const REDIS_URL = process.env['LUNA_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

type Tap = Test

/**
 * Whether the Redis these tests need answers. In CI a missing Redis fails the test; elsewhere
 * the test is skipped with the reason, never silently.
 */
export async function requireRedis (t: Tap): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    await probe.connect()
    await probe.ping()
    return true
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is not reachable (${(error as Error).message})`
    if (process.env['CI'] === 'true') t.fail(`${reason}: CI must run these tests`)
    else t.skip(`${reason}; start it with: redis-server --daemonize yes`, () => {})
    return false
  } finally {
    probe.disconnect()
  }
}

/** A key prefix of the test's own, and every key under it deleted when the test ends. */
export function uniquePrefix (t: Tap): string {
  const prefix = `luna-test:${randomUUID()}:`
  t.teardown(async () => { await deleteKeys(prefix) })
  return prefix
}

export async function deleteKeys (prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** A store under `prefix`, connected, and closed when the test ends. */
export async function openStore (t: Tap, prefix: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, ...options })
  t.teardown(() => store.close())
  await store.ready()
  return store
}

/**
 * The connections Redis at `url` lists, but the one this opens to ask (closed when the test
 * ends): the CLIENT LIST lines of everyone else.
 */
export function otherClients (t: Tap, url: string): () => Promise<string[]> {
  const name = `luna-test-${randomUUID()}`
  const admin = new Redis(url, { connectionName: name })
  t.teardown(() => admin.disconnect())
  return async () => {
    const list = await admin.client('LIST') as string
    return list.split('\n').filter((line) => line !== '' && !line.includes(` name=${name} `))
  }
}
