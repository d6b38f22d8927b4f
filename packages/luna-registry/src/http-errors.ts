import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AUTHENTICATE_HEADER } from './auth.js'
import { BadRequestError, InternalError, RouteNotFoundError } from './errors.js'
import { withoutUserinfo } from './userinfo.js'

/** The code of a client error that came without one of its own. */
const BAD_REQUEST = new BadRequestError().code

/** What a client is told while the store cannot answer; what the store said is logged instead. */
export const STORE_UNAVAILABLE_MESSAGE = 'The registry store is unavailable; retry later'

// Fastify's own wording for these does not say what the rule is; a store's does not concern clients.
const CLEARER: Record<string, (request: FastifyRequest) => string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (request) =>
    `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported: send application/json`,
  FST_ERR_CTP_BODY_TOO_LARGE: (request) =>
    `body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`,
  FST_LUNA_STORE_UNAVAILABLE: () => STORE_UNAVAILABLE_MESSAGE
}

/**
 * Every error leaves in Fastify's shape `{ statusCode, code, error, message }`. Client mistakes
 * and the registry's own answers (`FST_LUNA_*`, a 503 among them) keep their status and message,
 * and are logged at debug in a line without a stack: they are the client's business, or, for a
 * store that is away, the store's to log once per outage. Anything else is logged as an error and
 * answered with a bare 500.
 */
export function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const given = error.statusCode ?? 500
  const known = given >= 400 && (given < 500 || (given < 600 && error.code?.startsWith('FST_LUNA_') === true))
  if (!known) {
    request.log.error({ err: error }, 'luna-registry: request failed')
    const internal = new InternalError()
    return reply.code(500).send({ statusCode: 500, code: internal.code, error: STATUS_CODES[500]!, message: internal.message })
  }
  if (given === 401) reply.header('www-authenticate', AUTHENTICATE_HEADER)
  const message = CLEARER[error.code]?.(request) ?? error.message
  const code = error.code ?? BAD_REQUEST
  const url = withoutUserinfo(request.url)
  // `detail`: what the error itself said, when the client was told something else.
  request.log.debug(message === error.message
    ? { code, statusCode: given, method: request.method, url }
    : { code, statusCode: given, method: request.method, url, detail: error.message }, message)
  return reply.code(given).send({ statusCode: given, code, error: STATUS_CODES[given] ?? 'Error', message })
}

export function notFoundHandler (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = withoutUserinfo(request.url)
  const error = new RouteNotFoundError(request.method, url)
  request.log.debug({ code: error.code, statusCode: 404, method: request.method, url }, error.message)
  return reply.code(404).send({ statusCode: 404, code: error.code, error: STATUS_CODES[404]!, message: error.message })
}
