import type { ErrorBody } from './types.js'

/**
 * The registry answered with an error. `statusCode`, `code` and `message` are the registry's own
 * (`FST_LUNA_INSTANCE_NOT_FOUND`, `FST_ERR_VALIDATION`, …); an answer that is not the registry's
 * error shape, from a proxy for instance, gets the code `LUNA_CLIENT_UNEXPECTED_RESPONSE`.
 */
export class LunaError extends Error {
  override name = 'LunaError'
  readonly statusCode: number
  readonly code: string
  /** The HTTP reason phrase, e.g. `Not Found`. */
  readonly error: string

  constructor (body: ErrorBody) {
    super(body.message)
    this.statusCode = body.statusCode
    this.code = body.code
    this.error = body.error
  }
}

/**
 * The registry could not be reached: refused, reset, unknown host, or no answer within the
 * client's `timeout` (`code` is then `LUNA_CLIENT_TIMEOUT`). `cause` holds the underlying error.
 */
export class LunaNetworkError extends Error {
  override name = 'LunaNetworkError'
  readonly code: 'LUNA_CLIENT_NETWORK_ERROR' | 'LUNA_CLIENT_TIMEOUT'

  constructor (message: string, code: LunaNetworkError['code'], cause: unknown) {
    super(message, { cause })
    this.code = code
  }
}

/** Every error the client reports. */
export type LunaClientError = LunaError | LunaNetworkError

/**
 * Whether trying again later can help: the network, a registry fault (5xx), a timeout (408) or
 * rate limiting (429). Anything else is a mistake that needs a person (400, 401, 413, …).
 */
export function isTransient (error: LunaClientError): boolean {
  if (error instanceof LunaNetworkError) return true
  return error.statusCode >= 500 || error.statusCode === 408 || error.statusCode === 429
}

/** The registry's error shape; `error` (the reason phrase) may be missing behind a proxy. */
export function isErrorBody (value: unknown): value is Omit<ErrorBody, 'error'> & { error?: string } {
  if (typeof value !== 'object' || value === null) return false
  const body = value as Record<string, unknown>
  return typeof body['statusCode'] === 'number' && typeof body['code'] === 'string' && typeof body['message'] === 'string'
}
