import t from 'tap'
import { AUTH, PREFIX, build, info } from './helpers.js'

const url = (id: string): string => `${PREFIX}/instances/${encodeURIComponent(id)}`

t.test('valid ids split at the first and the last colon, and are used verbatim', async (t) => {
  const app = await build(t)
  const cases: Array<[string, string]> = [
    ['orders:10.0.0.1:8080', 'orders'],
    ['my-svc:host:1', 'my-svc'],
    ['a.b_c-d:api.internal.example.com:65535', 'a.b_c-d'],
    ['Orders:localhost:80', 'Orders'],
    ['9lives:[::1]:443', '9lives'],
    ['v6:[2001:db8::8a2e:370:7334]:8443', 'v6'],
    ['v6:[::ffff:10.0.0.1]:80', 'v6'],
    [`${'s'.repeat(128)}:h:1`, 's'.repeat(128)],
    ['svc:0.0.0.0:1', 'svc'],
    ['svc:xn--bcher-kva.example:1', 'svc']
  ]
  for (const [id, serviceName] of cases) {
    const res = await app.inject({ method: 'POST', url: url(id), headers: AUTH, payload: info(serviceName) })
    t.equal(res.statusCode, 201, id)
    t.equal(res.json().instanceId, id, `${id}: as sent`)
    t.equal((await app.inject({ method: 'GET', url: url(id), headers: AUTH })).json().name, serviceName, `${id}: of service ${serviceName}`)
  }
})

t.test('invalid ids: a 400 naming the part that is wrong', async (t) => {
  const app = await build(t)
  const cases: Array<[string, RegExp]> = [
    ['orders', /form serviceName:domain:port/],
    ['orders:8080', /form serviceName:domain:port/],
    [':host:80', /serviceName ""/],
    ['-svc:host:80', /serviceName "-svc"/],
    ['sv c:host:80', /serviceName "sv c"/],
    [`${'s'.repeat(129)}:h:1`, /serviceName/],
    ['svc::80', /domain is empty/],
    ['svc:-host:80', /domain "-host" is not a valid hostname/],
    ['svc:host_name:80', /domain "host_name" is not a valid hostname/],
    ['svc:ex ample.com:80', /domain "ex ample.com"/],
    ['svc:a..b:80', /domain "a..b"/],
    [`svc:${'a'.repeat(64)}.com:80`, /not a valid hostname/],
    ['svc:300.1.1.1:80', /domain "300.1.1.1" is not a valid IPv4 address/],
    ['svc:1.2.3:80', /not a valid IPv4 address/],
    ['svc:[::1:80', /bracketed IPv6/],
    ['svc:[zz::1]:80', /bracketed IPv6/],
    ['svc:::1:80', /not a valid hostname/],
    ['svc:host:0', /port "0" must be an integer from 1 to 65535/],
    ['svc:host:65536', /port "65536"/],
    ['svc:host:080', /port "080"/],
    ['svc:host:8o', /port "8o"/],
    ['svc:host:', /port ""/],
    ['svc:host:-1', /port "-1"/]
  ]
  for (const [id, reason] of cases) {
    const res = await app.inject({ method: 'GET', url: url(id), headers: AUTH })
    t.equal(res.statusCode, 400, `${id} is refused`)
    t.equal(res.json().code, 'FST_LUNA_INVALID_INSTANCE_ID', id)
    t.match(res.json().message, reason, id)
    t.match(res.json().message, `params/id ${JSON.stringify(id)} is not a valid instance id: `, `${id}: named`)
  }
})
