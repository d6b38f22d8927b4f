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
    'DEFAULT_MAX_FAILURES',
    'DEFAULT_MAX_BUFFER',
    'DEFAULT_PREFIX',
    'DEFAULT_PROTECTION_MAX_DURATION',
    'DEFAULT_PROTECTION_THRESHOLD',
    'DEFAULT_SNAPSHOT_TIMEOUT',
    'DEFAULT_SWEEP_INTERVAL',
    'DEFAULT_USERNAME',
    'EVENT_TYPES',
    'FIELD_MAX_DEPTH',
    'ForbiddenError',
    'GUARD_METHODS',
    'InstanceIdMismatchError',
    'InstanceNotFoundError',
    'InternalError',
    'InvalidInstanceIdError',
    'InvalidInstanceInfoError',
    'InvalidMetadataFilterError',
    'InvalidContentEncodingError',
    'InvalidOptionError',
    'InvalidUsersError',
    'InvalidUtf8Error',
    'LunaRegistry',
    'LunaUsers',
    'MAINTENANCE_REASON_MAX_LENGTH',
    'MAX_PAGE_LIMIT',
    'MemoryFailureStore',
    'MemoryStore',
    'METADATA_FILTER_MAX_ENTRIES',
    'NoInstanceAvailableError',
    'PASSWORD_HASH_FORMAT',
    'PROTECTION_MINIMUM',
    'ROLES',
    'RouteNotFoundError',
    'STORE_METHODS',
    'ServiceNotFoundError',
    'StoreUnavailableError',
    'TooManyFailuresError',
    'UnauthorizedError',
    'UnsupportedCharsetError',
    'UnsupportedContentEncodingError',
    'addMetadataEntry',
    'balancerKind',
    'createBalancer',
    'default',
    'describeValue',
    'durationOption',
    'formatDuration',
    'hashPassword',
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
  t.match(new luna.ForbiddenError('why'), { code: 'FST_LUNA_FORBIDDEN', statusCode: 403 })
  t.match(new luna.TooManyFailuresError(5), { code: 'FST_LUNA_TOO_MANY_FAILURES', statusCode: 429 })
  t.match(new luna.InvalidMetadataFilterError('querystring/metadata.', 'why'), { code: 'FST_LUNA_INVALID_METADATA_FILTER', statusCode: 400 })
})
