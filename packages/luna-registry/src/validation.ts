import { STATUS_CODES } from 'node:http'
import { Ajv, type ErrorObject } from 'ajv'
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { AUTHENTICATE_HEADER } from './auth.js'
import { BodyTooDeepError, InvalidInstanceInfoError, RouteNotFoundError } from './errors.js'
import { memo } from './memo.js'
import { SERVICE_PATH_PATTERN, SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from './instance-id.js'
import { FIELD_MAX_DEPTH, InstanceInfoSchema, type InstanceInfo } from './schemas.js'
import { withoutUserinfo } from './userinfo.js'

/** An absolute `http:` or `https:` URL with a host. */
export const isHttpUrl = memo((value: string): boolean => {
  if (!/^https?:\/\//i.test(value)) return false
  try {
    return new URL(value).host !== ''
  } catch {
    return false
  }
})

/** Whether `value` nests objects and arrays at most `limit` levels deep, without recursing. */
export function depthWithin (value: unknown, limit: number): boolean {
  let level: unknown[] = [value]
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > limit) return false
    const next: unknown[] = []
    for (const item of level) {
      // One by one: spreading a long array into `push` would overflow the stack in its own way.
      if (item !== null && typeof item === 'object') for (const child of Object.values(item)) next.push(child)
    }
    level = next
  }
  return true
}

/**
 * The path (a JSON Pointer) of the first field of `body` (or item, when it is an array, which the
 * schema then refuses) that nests objects or arrays more than `limit` levels deep, or `undefined`.
 */
export function tooDeepField (body: unknown, limit: number): string | undefined {
  if (body === null || typeof body !== 'object') return undefined
  for (const [key, value] of Object.entries(body)) {
    if (value !== null && typeof value === 'object' && !depthWithin(value, limit)) {
      return '/' + key.replaceAll('~', '~0').replaceAll('/', '~1')
    }
  }
  return undefined
}

// Our own Ajv, whatever the host app configured: no type coercion (`"version": 1` is a client
// mistake, not a string), defaults applied, the registry's formats known.
const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
ajv.addFormat('http-url', isHttpUrl)
// Query strings and params are strings by nature; only they are coerced.
const coercingAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false })

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? ajv : coercingAjv).compile(schema)

/** A key that `propertyNames` refused, short enough to quote. */
function describeKey (error: ErrorObject, key: string): string {
  if (error.keyword === 'minLength' && (error.params as Record<string, unknown>)['limit'] === 1) return `${error.instancePath} keys must not be empty`
  const shown = key.length > 32 ? `${JSON.stringify(key.slice(0, 32))}…` : JSON.stringify(key)
  return `${error.instancePath} key ${shown} ${error.message ?? 'is invalid'}`
}

function describeError (error: ErrorObject): string {
  if (error.propertyName !== undefined) return describeKey(error, error.propertyName)
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return `${error.instancePath}/${String(params['missingProperty'])} is required`
    case 'enum':
      return `${error.instancePath} must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    case 'format':
      return params['format'] === 'http-url'
        ? `${error.instancePath} must be an absolute http: or https: URL`
        : `${error.instancePath} must match format "${String(params['format'])}"`
    case 'pattern':
      return params['pattern'] === SERVICE_NAME_PATTERN || params['pattern'] === SERVICE_PATH_PATTERN
        ? `${error.instancePath} must be a service name: ${SERVICE_NAME_RULE}${params['pattern'] === SERVICE_PATH_PATTERN ? ' (optionally followed by /pick)' : ''}`
        : `${error.instancePath} ${error.message ?? 'is invalid'}`
    case 'minLength':
      return params['limit'] === 1
        ? `${error.instancePath} must not be empty`
        : `${error.instancePath} ${error.message ?? 'is too short'}`
    default:
      return `${error.instancePath} ${error.message ?? 'is invalid'}`
  }
}

/** `body/status must be one of "OK", "DOWN"`: the part, the field and the rule. */
export const schemaErrorFormatter = (errors: FastifySchemaValidationError[], dataVar: string): Error =>
  new Error(errors
    // Ajv follows the error of a key with one that only says a key was refused.
    .filter((error) => error.keyword !== 'propertyNames')
    .map((error) => `${dataVar}${describeError(error as ErrorObject)}`).join('; '))

const checkInstanceInfo = ajv.compile(InstanceInfoSchema)

/** For in-process writes: the same rules as a POST or PUT body, the same messages. */
export function assertInstanceInfo (info: unknown): asserts info is InstanceInfo {
  const field = tooDeepField(info, FIELD_MAX_DEPTH)
  if (field !== undefined) throw new InvalidInstanceInfoError(new BodyTooDeepError(`info${field}`, FIELD_MAX_DEPTH).message)
  if (!checkInstanceInfo(info)) {
    throw new InvalidInstanceInfoError(schemaErrorFormatter(checkInstanceInfo.errors ?? [], 'info').message)
  }
}

/** The same, for a route whose wildcard param (`*`) users know as `name`. */
export function wildcardNamed (name: string): typeof schemaErrorFormatter {
  return (errors, dataVar) => schemaErrorFormatter(
    errors.map((error) => dataVar === 'params' ? { ...error, instancePath: error.instancePath.replace(/^\/\*/, `/${name}`) } : error),
    dataVar
  )
}

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
    return reply.code(500).send({
      statusCode: 500,
      code: 'FST_LUNA_INTERNAL_ERROR',
      error: STATUS_CODES[500]!,
      message: 'Internal Server Error'
    })
  }
  if (given === 401) reply.header('www-authenticate', AUTHENTICATE_HEADER)
  const message = CLEARER[error.code]?.(request) ?? error.message
  const code = error.code ?? 'FST_ERR_BAD_REQUEST'
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
