import createError from '@fastify/error'

/** An instance id in a path that is not `serviceName:domain:port`. The message names the part. */
export const InvalidInstanceIdError = createError<[string, string]>(
  'FST_LUNA_INVALID_INSTANCE_ID',
  'params/id "%s" is not a valid instance id: %s',
  400
)

/** Instance info handed to `fastify.lunaRegistry` that breaks a rule a POST body would. */
export const InvalidInstanceInfoError = createError<[string, string]>(
  'FST_LUNA_INVALID_INSTANCE_INFO',
  'info%s %s',
  400
)

/** A client error that came without a code of its own. */
export const BadRequestError = createError(
  'FST_LUNA_BAD_REQUEST',
  'Bad Request',
  400
)

/** A fault of the registry or its store; the details are logged, never sent. */
export const InternalError = createError(
  'FST_LUNA_INTERNAL_ERROR',
  'Internal Server Error',
  500
)

/** A field of a body that nests objects or arrays deeper than the registry walks. */
export const BodyTooDeepError = createError<[string, number]>(
  'FST_LUNA_BODY_TOO_DEEP',
  '%s must NOT nest objects or arrays more than %d levels deep',
  400
)

/** Bytes that are not UTF-8, the only encoding of text the registry reads. */
export const InvalidUtf8Error = createError(
  'FST_LUNA_INVALID_UTF8',
  'body is not valid UTF-8',
  400
)

/** A `charset` parameter in `Content-Type` that does not name UTF-8. */
export const UnsupportedCharsetError = createError<[string]>(
  'FST_LUNA_UNSUPPORTED_CHARSET',
  'Content-Type charset "%s" is not supported: send UTF-8',
  415
)

/** A `Content-Encoding` the registry cannot decode. */
export const UnsupportedContentEncodingError = createError<[string]>(
  'FST_LUNA_UNSUPPORTED_CONTENT_ENCODING',
  'Content-Encoding "%s" is not supported: send gzip, deflate or identity',
  415
)

/** A body that its `Content-Encoding` cannot decode. */
export const InvalidContentEncodingError = createError<[string, string]>(
  'FST_LUNA_INVALID_CONTENT_ENCODING',
  'body is not valid %s: %s',
  400
)

/** The body contradicts the id in the path (`instanceId` or `name`). */
export const InstanceIdMismatchError = createError<[string, string, string]>(
  'FST_LUNA_INSTANCE_ID_MISMATCH',
  'body/%s must equal %s from the path, got "%s"',
  400
)

export const InstanceNotFoundError = createError<[string]>(
  'FST_LUNA_INSTANCE_NOT_FOUND',
  'Instance "%s" is not registered',
  404
)

export const ServiceNotFoundError = createError<[string]>(
  'FST_LUNA_SERVICE_NOT_FOUND',
  'Service "%s" has no registered instances',
  404
)

/** The service exists but none of its instances is OK with a weight above 0. */
export const NoInstanceAvailableError = createError<[string]>(
  'FST_LUNA_NO_INSTANCE_AVAILABLE',
  'Service "%s" has no instance that is OK with a weight above 0',
  503
)

/**
 * The store cannot be reached or did not answer in time. A write may or may not have happened:
 * every write is idempotent, so clients retry. Stores throw it, with what went wrong in the
 * message and the store's own error as `{ cause }`; clients are told neither.
 */
export const StoreUnavailableError = createError<[string, { cause: unknown }?]>(
  'FST_LUNA_STORE_UNAVAILABLE',
  'The registry store is unavailable: %s',
  503
)

/** A `metadata.KEY=VALUE` filter (or the gateway's header for one) that breaks the rules metadata follows. */
export const InvalidMetadataFilterError = createError<[string, string]>(
  'FST_LUNA_INVALID_METADATA_FILTER',
  '%s %s',
  400
)

export const RouteNotFoundError = createError<[string, string]>(
  'FST_LUNA_ROUTE_NOT_FOUND',
  'Route %s:%s not found',
  404
)

export const UnauthorizedError = createError(
  'FST_LUNA_UNAUTHORIZED',
  'Invalid username or password',
  401
)

/** An authenticated request outside its user's rights; the message names the role and what it may not change. */
export const ForbiddenError = createError<[string]>(
  'FST_LUNA_FORBIDDEN',
  'Forbidden: %s',
  403
)

/** A client address that failed to authenticate too often: refused until its window ends. */
export const TooManyFailuresError = createError<[number]>(
  'FST_LUNA_TOO_MANY_FAILURES',
  'Too many failed authentications from this address: retry in %d s',
  429
)

/** A users list that breaks a rule; the message starts with the path of the field, `users[1].role`. */
export const InvalidUsersError = createError<[string, string]>(
  'FST_LUNA_INVALID_USERS',
  '%s %s'
)

/** A plugin option that cannot work; thrown while the plugin loads, so `app.ready()` rejects. */
export const InvalidOptionError = createError<[string, string]>(
  'FST_LUNA_INVALID_OPTION',
  'luna-registry option "%s" %s'
)
