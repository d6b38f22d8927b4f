import createError from '@fastify/error'

// The registry's errors where the meaning is the same: an unknown service, no routable instance.
export { NoInstanceAvailableError, RouteNotFoundError, ServiceNotFoundError, UnauthorizedError } from 'luna-registry'

/** A path the gateway refuses to forward: it could leave the instance's base path. */
export const InvalidPathError = createError<[string]>(
  'FST_LUNA_INVALID_PATH',
  'The path %s',
  400
)

/** Every attempt failed to reach an instance, or an instance answered with something that is not HTTP. */
export const BadGatewayError = createError<[string, string]>(
  'FST_LUNA_BAD_GATEWAY',
  'No instance of service "%s" could be reached: %s',
  502
)

/** The chosen instance sent no response headers in time. */
export const GatewayTimeoutError = createError<[string, number]>(
  'FST_LUNA_GATEWAY_TIMEOUT',
  'Service "%s" sent no response headers within %d ms',
  504
)

/** A gateway that follows a remote registry and has not yet had its first snapshot of it. */
export const NotSynchronisedError = createError(
  'FST_LUNA_GATEWAY_NOT_SYNCHRONISED',
  'The gateway has not yet received the service list from the registry',
  503
)

/** A plugin option that cannot work; thrown while the plugin loads, so `app.ready()` rejects. */
export const InvalidGatewayOptionError = createError<[string, string]>(
  'FST_LUNA_INVALID_OPTION',
  'luna-gateway option "%s" %s'
)

/** Fastify's code for a body over the limit, with the registry's wording that names the limit. */
export const BodyTooLargeError = createError<[number]>(
  'FST_ERR_CTP_BODY_TOO_LARGE',
  'body is larger than the limit of %d bytes',
  413
)
