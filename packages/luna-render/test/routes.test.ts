import t from 'tap'
import type { ServiceView } from 'luna-registry'
import { encodePath, parseInstanceUrl, routesOf } from '../src/index.js'

type Instance = ServiceView['instances'][number]

function instance (instanceId: string, url: string, weight = 1, status: 'OK' | 'DOWN' = 'OK'): Instance {
  return { instanceId, url, status, balancerOptions: { weight } } as unknown as Instance
}

function service (name: string, ...instances: Instance[]): ServiceView {
  return { name, instances } as unknown as ServiceView
}

t.test('a route per service with a routable instance: host, port, weight, base path', async (t) => {
  const { routes, unavailable } = routesOf([
    service('billing.v2', instance('billing.v2:[::1]:9000', 'http://[::1]:9000/', 3)),
    service('orders_x-1', instance('orders_x-1:a:1', 'https://Api.Example:8443/api/v1?ignored=1#too', 2), instance('orders_x-1:b:1', 'https://b.example/api/v1', 1)),
    service('quiet', instance('quiet:a:1', 'http://a/', 1, 'DOWN'), instance('quiet:b:1', 'http://b/', 0))
  ])
  t.same(routes, [
    {
      name: 'billing.v2',
      upstream: 'luna_1_billing.v2',
      scheme: 'http',
      path: '/',
      directory: '/',
      servers: [{ instanceId: 'billing.v2:[::1]:9000', host: '[::1]', port: 9000, weight: 3 }],
      leftOut: []
    },
    {
      name: 'orders_x-1',
      upstream: 'luna_2_orders_x-1',
      scheme: 'https',
      path: '/api/v1',
      directory: '/api/v1/',
      servers: [
        { instanceId: 'orders_x-1:a:1', host: 'api.example', port: 8443, weight: 2 },
        { instanceId: 'orders_x-1:b:1', host: 'b.example', port: 443, weight: 1 }
      ],
      leftOut: []
    }
  ])
  t.same(unavailable, ['quiet'], 'DOWN and weight 0 are not routable: the service answers 503')
  t.equal(routesOf([service('web', instance('web:a:80', 'http://a/'))]).routes[0]!.servers[0]!.port, 80)
})

t.test('upstream names stay unique where nginx ignores case', async (t) => {
  const { routes } = routesOf([service('Orders', instance('Orders:a:1', 'http://a/')), service('orders', instance('orders:a:1', 'http://a/'))])
  t.same(routes.map((route) => route.upstream), ['luna_1_Orders', 'luna_2_orders'])
})

t.test('instances that disagree on the base path: the heaviest group is routed, the others listed', async (t) => {
  const { routes } = routesOf([service('orders',
    instance('orders:a:1', 'http://a/api/', 1),
    instance('orders:b:1', 'http://b/v2/', 1),
    instance('orders:c:1', 'http://c/v2/', 1),
    instance('orders:d:1', 'https://d/api/', 1))])
  t.equal(routes[0]!.path, '/v2/')
  t.same(routes[0]!.servers.map((server) => server.host), ['b', 'c'])
  t.same(routes[0]!.leftOut.map((left) => left.instanceId), ['orders:a:1', 'orders:d:1'])
  t.match(routes[0]!.leftOut[0]!.reason, /base path http:\/\/…\/api\/ differs from the service's http:\/\/…\/v2\//)
  // A tie goes to the group of the first instance by id.
  t.equal(routesOf([service('s', instance('s:a:1', 'http://a/x/'), instance('s:b:1', 'http://b/y/'))]).routes[0]!.path, '/x/')
})

t.test('hostile URLs: nothing that could be configuration syntax gets through', async (t) => {
  for (const url of ['http://a;b/', 'http://a{b}/', 'http://a$b/', 'http://a\'b/', 'http://a"b/', 'http://a!b/', 'http://a*b/', 'http://a_b/', 'http://-a/']) {
    const parsed = parseInstanceUrl(url)
    t.type(parsed, 'string', url)
    t.match(parsed, /^host ".*" is not a hostname or an IP address$/, url)
  }
  t.equal(parseInstanceUrl('not a url'), 'url "not a url" is not a URL')
  t.equal(parseInstanceUrl('ftp://a/'), 'url "ftp://a/" is not http or https')
  // URL takes out tabs and newlines; what is left of the path is percent-encoded.
  t.same(parseInstanceUrl('http://a/x;y {z}$v\'w"q#frag'), { scheme: 'http', host: 'a', port: 80, path: '/x%3By%20%7Bz%7D%24v%27w%22q' })
  t.same(parseInstanceUrl('http://a/line\nbreak\r/tab\t'), { scheme: 'http', host: 'a', port: 80, path: '/linebreak/tab' })
  const { routes, unavailable } = routesOf([service('orders', instance('orders:a:1', 'http://evil;}server{/'))])
  t.same(routes, [])
  t.same(unavailable, ['orders'], 'a service whose only instance cannot be written answers 503')
  const mixed = routesOf([service('orders', instance('orders:a:1', 'http://evil;}/'), instance('orders:b:1', 'http://ok/'))])
  t.match(mixed.routes[0]!.leftOut, [{ instanceId: 'orders:a:1', reason: /^host "evil;}" is not/ }])
})

t.test('encodePath keeps valid escapes and the characters no configuration reads as syntax', async (t) => {
  t.equal(encodePath('/a-b_c.d~e!f&g=h+i,j*k:l@m/'), '/a-b_c.d~e!f&g=h+i,j*k:l@m/')
  t.equal(encodePath('/%41%zz%'), '/%41%25zz%25')
  t.equal(encodePath('/;{}$\'"()# \\'), '/%3B%7B%7D%24%27%22%28%29%23%20%5C')
  t.equal(encodePath('/é😀'), '/%C3%A9%F0%9F%98%80')
})

t.test('service names the registry would refuse are not routed', async (t) => {
  t.same(routesOf([service('a;b', instance('x', 'http://a/')), service('', instance('y', 'http://a/'))]), { routes: [], unavailable: [] })
})
