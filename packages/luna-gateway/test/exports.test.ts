import t from 'tap'
import * as gateway from '../src/index.js'

t.test('the package exports exactly its public surface', async (t) => {
  t.same(Object.keys(gateway).sort(), [
    'BadGatewayError',
    'BodyTooLargeError',
    'DEFAULT_ATTEMPTS',
    'DEFAULT_BODY_LIMIT',
    'DEFAULT_CONNECT_TIMEOUT',
    'DEFAULT_COOL_DOWN',
    'DEFAULT_GATEWAY_PREFIX',
    'DEFAULT_GATEWAY_TIMEOUT',
    'GatewayTimeoutError',
    'InvalidGatewayOptionError',
    'InvalidPathError',
    'NoInstanceAvailableError',
    'NotSynchronisedError',
    'RouteNotFoundError',
    'ServiceNotFoundError',
    'UnauthorizedError',
    'default',
    'lunaGateway',
    'normaliseGatewayOptions',
    'parseTarget',
    'upstreamUrl'
  ])
  t.equal(gateway.default, gateway.lunaGateway)
  t.equal((gateway.lunaGateway as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')], 'luna-gateway')
})

t.test('errors carry FST_ codes and status codes', async (t) => {
  t.match(new gateway.BadGatewayError('orders', 'refused'), { code: 'FST_LUNA_BAD_GATEWAY', statusCode: 502 })
  t.match(new gateway.GatewayTimeoutError('orders', 5), { code: 'FST_LUNA_GATEWAY_TIMEOUT', statusCode: 504 })
  t.match(new gateway.InvalidPathError('x'), { code: 'FST_LUNA_INVALID_PATH', statusCode: 400 })
  t.match(new gateway.NotSynchronisedError(), { code: 'FST_LUNA_GATEWAY_NOT_SYNCHRONISED', statusCode: 503 })
  t.match(new gateway.BodyTooLargeError(1), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })
  t.match(new gateway.ServiceNotFoundError('x'), { code: 'FST_LUNA_SERVICE_NOT_FOUND', statusCode: 404 })
  t.match(new gateway.NoInstanceAvailableError('x'), { code: 'FST_LUNA_NO_INSTANCE_AVAILABLE', statusCode: 503 })
})
