import t from 'tap'
import { parseInstanceId } from '../src/instance-id.js'

t.test('valid ids split at the first and the last colon', async (t) => {
  const cases: Array<[string, string, string, number]> = [
    ['orders:10.0.0.1:8080', 'orders', '10.0.0.1', 8080],
    ['my-svc:host:1', 'my-svc', 'host', 1],
    ['a.b_c-d:api.internal.example.com:65535', 'a.b_c-d', 'api.internal.example.com', 65535],
    ['Orders:localhost:80', 'Orders', 'localhost', 80],
    ['9lives:[::1]:443', '9lives', '[::1]', 443],
    ['v6:[2001:db8::8a2e:370:7334]:8443', 'v6', '[2001:db8::8a2e:370:7334]', 8443],
    ['v6:[::ffff:10.0.0.1]:80', 'v6', '[::ffff:10.0.0.1]', 80],
    [`${'s'.repeat(128)}:h:1`, 's'.repeat(128), 'h', 1],
    ['svc:0.0.0.0:1', 'svc', '0.0.0.0', 1],
    ['svc:xn--bcher-kva.example:1', 'svc', 'xn--bcher-kva.example', 1]
  ]
  for (const [id, serviceName, domain, port] of cases) {
    t.same(parseInstanceId(id), { ok: true, parts: { serviceName, domain, port } }, id)
  }
})

t.test('invalid ids name the part that is wrong', async (t) => {
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
    ['svc:[::1]/x]:80', /bracketed IPv6/],
    ['svc:::1:80', /not a valid hostname/],
    ['svc:host:0', /port "0" must be an integer from 1 to 65535/],
    ['svc:host:65536', /port "65536"/],
    ['svc:host:080', /port "080"/],
    ['svc:host:8o', /port "8o"/],
    ['svc:host:', /port ""/],
    ['svc:host:-1', /port "-1"/]
  ]
  for (const [id, reason] of cases) {
    const result = parseInstanceId(id)
    t.equal(result.ok, false, `${id} is refused`)
    if (!result.ok) t.match(result.reason, reason, id)
  }
})
