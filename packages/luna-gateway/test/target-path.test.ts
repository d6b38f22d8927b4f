import t from 'tap'
import { parseTarget, upstreamUrl } from '../src/target-path.js'

t.test('a service address: the name decoded, the rest and the query as written', async (t) => {
  t.same(parseTarget('/gateway/services/orders/items/1?x=1', '/gateway'), { service: 'orders', rest: 'items/1', query: '?x=1' })
  t.same(parseTarget('/gateway/services/orders', '/gateway'), { service: 'orders', rest: undefined, query: '' })
  t.same(parseTarget('/gateway/services/orders/', '/gateway'), { service: 'orders', rest: '', query: '' })
  t.same(parseTarget('/gateway/services/orders?a', '/gateway'), { service: 'orders', rest: undefined, query: '?a' })
  t.same(parseTarget('/gateway/services/my%2Dapp/a%20b?q=%2e%2e', '/gateway'), { service: 'my-app', rest: 'a%20b', query: '?q=%2e%2e' })
  t.same(parseTarget('/gateway/%73ervices/orders/x', '/gateway'), { service: 'orders', rest: 'x', query: '' }, 'read as the router read it')
  t.same(parseTarget('/edge/v1/services/orders/x', '/edge/v1'), { service: 'orders', rest: 'x', query: '' })
  t.same(parseTarget('/services/orders/x', ''), { service: 'orders', rest: 'x', query: '' })
})

t.test('anything else under the prefix is not a service address', async (t) => {
  for (const url of ['/gateway/services', '/gateway/services/', '/gateway/other/orders', '/elsewhere/services/orders', 'gateway/services/orders']) {
    t.equal(parseTarget(url, '/gateway'), undefined, url)
  }
})

t.test('paths that could leave the base path are refused, naming the segment', async (t) => {
  t.throws(() => parseTarget('/gateway/services/orders/%2e%2e/x', '/gateway'), {
    code: 'FST_LUNA_INVALID_PATH',
    statusCode: 400,
    message: 'The path segment "%2e%2e" is refused: dot segments could leave the instance\'s base path'
  })
  t.throws(() => parseTarget('/gateway/services/orders/a%2fb', '/gateway'), { message: /segment "a%2fb" holds an encoded slash, backslash or NUL/ })
  t.throws(() => parseTarget('/gateway/services/orders/a\\b', '/gateway'), { message: /holds a backslash/ })
  t.throws(() => parseTarget('/gateway/services/orders/a#b', '/gateway'), { message: /holds a "#"/ })
  t.throws(() => parseTarget('/gateway/services/orders/%252E%252E', '/gateway'), { message: /holds a twice-encoded dot, slash, backslash or NUL/ })
  t.same(parseTarget('/gateway/services/orders/100%2525', '/gateway'), { service: 'orders', rest: '100%2525', query: '' }, 'an encoded "%" on its own is fine')
})

t.test('the upstream URL: the instance\'s origin and path, the rest below it', async (t) => {
  t.equal(upstreamUrl('http://10.0.0.7:8080/api/', 'items/1'), 'http://10.0.0.7:8080/api/items/1')
  t.equal(upstreamUrl('http://10.0.0.7:8080/api', 'items/1'), 'http://10.0.0.7:8080/api/items/1')
  t.equal(upstreamUrl('http://10.0.0.7:8080', 'items/1'), 'http://10.0.0.7:8080/items/1')
  t.equal(upstreamUrl('http://10.0.0.7:8080/api', undefined), 'http://10.0.0.7:8080/api')
  t.equal(upstreamUrl('http://10.0.0.7:8080/api', ''), 'http://10.0.0.7:8080/api/')
  t.equal(upstreamUrl('https://[::1]:9443/v2/?key=1#top', 'x'), 'https://[::1]:9443/v2/x', 'a registered query or fragment is not used')
})
