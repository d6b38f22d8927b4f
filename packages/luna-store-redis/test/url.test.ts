import t from 'tap'
import { parseRedisUrl, RedisStore } from '../src/index.js'

t.test('one Redis: host, port, database, credentials, TLS', async (t) => {
  t.same(parseRedisUrl('redis://127.0.0.1'), { target: { mode: 'single', node: { host: '127.0.0.1', port: 6379 }, db: 0 }, tls: false, parameters: {} })
  t.same(parseRedisUrl('rediss://luna:p%40ss@cache.internal:6380/3'), {
    target: { mode: 'single', node: { host: 'cache.internal', port: 6380 }, db: 3 }, tls: true, username: 'luna', password: 'p@ss', parameters: {}
  })
  t.same(parseRedisUrl('redis://:secret@[::1]:7000/').target, { mode: 'single', node: { host: '::1', port: 7000 }, db: 0 })
  t.equal(parseRedisUrl('redis://:secret@h').password, 'secret')
  t.equal(parseRedisUrl('redis://:secret@h').username, undefined)
})

t.test('Sentinel: the sentinels, the master\'s name, a database, the sentinels\' password', async (t) => {
  t.same(parseRedisUrl('redis+sentinel://:pw@s1:26380,s2,10.0.0.3:26381/my%20master/2?sentinelPassword=sp'), {
    target: { mode: 'sentinel', sentinels: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }, { host: '10.0.0.3', port: 26381 }], name: 'my master', db: 2 },
    tls: false,
    password: 'pw',
    parameters: { sentinelPassword: 'sp' }
  })
  t.throws(() => parseRedisUrl('redis+sentinel://s1:26379'), /ends with \/masterName or \/masterName\/db/)
  t.throws(() => parseRedisUrl('redis+sentinel://s1:26379/m/0/1'), /ends with \/masterName or \/masterName\/db/)
})

t.test('Cluster: some nodes, no database', async (t) => {
  t.same(parseRedisUrl('rediss+cluster://n1:7000,n2:7001?waitReplicas=auto&waitTimeout=250&commandTimeout=800'), {
    target: { mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] },
    tls: true,
    parameters: { waitReplicas: 'auto', waitTimeout: 250, commandTimeout: 800 }
  })
  t.equal(parseRedisUrl('redis+cluster://n1/?waitReplicas=2').parameters.waitReplicas, 2)
  t.throws(() => parseRedisUrl('redis+cluster://n1:7000/1'), /has no path/)
})

t.test('what is wrong is named, the password never', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['sentinel://h:26379/m', /a store URL starts with redis:\/\//],
    ['http://h', /a store URL starts with/],
    ['redis://', /names no host/],
    ['redis://h1:1,h2:2', /names one host/],
    ['redis://h:99999', /"h:99999" in the store URL is not a host\[:port\]/],
    ['redis://h:1/x', /database in the store URL must be a number, not "x"/],
    ['redis://h/1/2', /ends with the host or with \/db/],
    ['redis://:s3cret@h?family=6', /unknown parameter "family" in the store URL; accepted: commandTimeout, waitReplicas, waitTimeout$/],
    ['redis+sentinel://:s3cret@h/m?tls=1', /unknown parameter "tls".*sentinelPassword$/],
    ['redis://h?sentinelPassword=x', /unknown parameter "sentinelPassword"/],
    ['redis://h?commandTimeout=0', /commandTimeout must be a positive whole number of milliseconds, not "0"/],
    ['redis://h?waitTimeout=soon', /waitTimeout must be a positive whole number/],
    ['redis://h?waitReplicas=some', /waitReplicas must be auto or a number of replicas, not "some"/],
    ['redis://:%E0%A4%A@h', /password is not valid percent-encoding/],
    ['redis+sentinel://h/%E0%A4%A', /master name is not valid percent-encoding/]
  ]
  for (const [url, message] of cases) {
    t.throws(() => parseRedisUrl(url), message, url)
    try {
      parseRedisUrl(url)
    } catch (error) {
      t.notMatch((error as Error).message, /s3cret/)
    }
  }
})

t.test('RedisStore options: Sentinel or Cluster in place of the URL\'s hosts, checked first', async (t) => {
  const lazy = { redis: { lazyConnect: true } }
  t.throws(() => new RedisStore({ ...lazy, sentinels: [{ host: 'h', port: 1 }] }), /sentinels need the name of the master/)
  t.throws(() => new RedisStore({ ...lazy, sentinels: [{ host: 'h', port: 1 }], cluster: [{ host: 'h', port: 2 }], name: 'm' }), /sentinels or cluster, not both/)
  t.throws(() => new RedisStore({ ...lazy, waitReplicas: -1 }), /waitReplicas must be 'auto' or a number of replicas, not -1/)
  t.throws(() => new RedisStore({ ...lazy, waitTimeout: 0 }), /waitTimeout must be a positive number of milliseconds/)
  t.throws(() => new RedisStore({ ...lazy, commandTimeout: Number.NaN }), /commandTimeout must be a positive number/)
  t.throws(() => new RedisStore({ ...lazy, keyPrefix: 'a{b}:' }), /keyPrefix must not contain \{ or \}/)
  const stores = [
    new RedisStore({ ...lazy, sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm' }),
    new RedisStore({ ...lazy, url: 'redis+sentinel://127.0.0.1:1/m', cluster: [{ host: '127.0.0.1', port: 1 }], clusterOptions: { lazyConnect: true } })
  ]
  for (const store of stores) {
    t.equal(store.available(), false, 'not connected, and not pretending to be')
    await store.close()
  }
})
