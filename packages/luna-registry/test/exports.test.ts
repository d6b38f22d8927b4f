import t from 'tap'
import * as luna from '../src/index.js'
import * as testing from '../src/testing/store-contract.js'

t.test('the package exports exactly its public surface', async (t) => {
  t.same(Object.keys(luna).sort(), [
    'BALANCER_KINDS',
    'BadRequestError',
    'BodyTooDeepError',
    'DEFAULT_EVICT_AFTER',
    'DEFAULT_HEARTBEAT_TIMEOUT',
    'DEFAULT_KEEP_ALIVE',
    'DEFAULT_MAX_BUFFER',
    'DEFAULT_PREFIX',
    'DEFAULT_PROTECTION_MAX_DURATION',
    'DEFAULT_PROTECTION_THRESHOLD',
    'DEFAULT_SNAPSHOT_TIMEOUT',
    'DEFAULT_SWEEP_INTERVAL',
    'DEFAULT_USERNAME',
    'EVENT_TYPES',
    'FIELD_MAX_DEPTH',
    'GUARD_METHODS',
    'InstanceIdMismatchError',
    'InstanceNotFoundError',
    'InternalError',
    'InvalidInstanceIdError',
    'InvalidInstanceInfoError',
    'InvalidMetadataFilterError',
    'InvalidContentEncodingError',
    'InvalidOptionError',
    'InvalidUtf8Error',
    'LunaRegistry',
    'MAINTENANCE_REASON_MAX_LENGTH',
    'MAX_PAGE_LIMIT',
    'METADATA_FILTER_MAX_ENTRIES',
    'MemoryStore',
    'NoInstanceAvailableError',
    'PROTECTION_MINIMUM',
    'RouteNotFoundError',
    'STORE_METHODS',
    'ServiceNotFoundError',
    'StoreUnavailableError',
    'UnauthorizedError',
    'UnsupportedCharsetError',
    'UnsupportedContentEncodingError',
    'addMetadataEntry',
    'balancerKind',
    'createBalancer',
    'default',
    'formatDuration',
    'isGuardStore',
    'isHostname',
    'isServiceName',
    'isSharedStore',
    'lunaRegistry',
    'matchesMetadata',
    'metadataFilterOf',
    'parseDuration',
    'parseInstanceId',
    'withoutUserinfo'
  ].sort())
  t.equal(luna.default, luna.lunaRegistry, 'the plugin is the default export and a named one')
  t.equal((luna.lunaRegistry as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')], 'luna-registry')
  t.same(Object.keys(testing).sort(), ['guardContract', 'sampleRecord', 'storeContract'])
})

t.test('errors carry FST_LUNA_ codes and status codes', async (t) => {
  t.match(new luna.InstanceNotFoundError('a:b:1'), { code: 'FST_LUNA_INSTANCE_NOT_FOUND', statusCode: 404 })
  t.match(new luna.ServiceNotFoundError('a'), { code: 'FST_LUNA_SERVICE_NOT_FOUND', statusCode: 404 })
  t.match(new luna.InvalidInstanceIdError('x', 'why'), { code: 'FST_LUNA_INVALID_INSTANCE_ID', statusCode: 400 })
  t.match(new luna.UnauthorizedError(), { code: 'FST_LUNA_UNAUTHORIZED', statusCode: 401 })
  t.match(new luna.InvalidMetadataFilterError('querystring/metadata.', 'why'), { code: 'FST_LUNA_INVALID_METADATA_FILTER', statusCode: 400 })
})
