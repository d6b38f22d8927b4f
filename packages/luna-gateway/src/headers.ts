import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyRequest } from 'fastify'

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are never forwarded; `expect`
// is answered by the gateway's own server, and undici refuses it.
const REQUEST_HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']
const RESPONSE_HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']

/** The header names a `Connection` header lists: hop-by-hop too. */
function listed (connection: string | string[] | undefined): string[] {
  if (connection === undefined) return []
  return String(connection).toLowerCase().split(',').map((name) => name.trim()).filter((name) => name !== '')
}

export interface ForwardingOptions {
  /** Keep the client's `Host` rather than the instance's. */
  preserveHost: boolean
  /** The gateway checked the `Authorization` header itself: it is the registry's, not the service's. */
  consumesAuthorization: boolean
}

/**
 * The headers to send upstream: the client's, minus the hop-by-hop ones, `Host` the instance's
 * (`host`, as reply-from sets it) unless kept, and the `X-Forwarded-*` trio: the client's
 * address appended to `X-Forwarded-For`, its protocol and the host it asked for (both as Fastify
 * reads them, so behind a trusted proxy they are that proxy's client's).
 */
export function upstreamRequestHeaders (request: FastifyRequest, headers: IncomingHttpHeaders, options: ForwardingOptions): IncomingHttpHeaders {
  const connection = headers['connection']
  if (connection !== undefined) for (const name of listed(connection)) delete headers[name]
  for (const name of REQUEST_HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name]
  // `te: trailers` says the client accepts trailers, which the upstream may want to know.
  if (request.headers['te'] === 'trailers') headers['te'] = 'trailers'
  if (options.consumesAuthorization) delete headers['authorization']
  if (options.preserveHost && request.headers.host !== undefined) headers['host'] = request.headers.host
  const address = request.socket.remoteAddress
  if (address !== undefined) {
    const forwarded = request.headers['x-forwarded-for']
    headers['x-forwarded-for'] = forwarded === undefined ? address : `${String(forwarded)}, ${address}`
  }
  headers['x-forwarded-proto'] = request.protocol
  headers['x-forwarded-host'] = request.host
  return headers
}

const RESPONSE_DROPPED = new Set(RESPONSE_HOP_BY_HOP)
const RESPONSE_DROPPED_BUT_TRAILER = new Set(RESPONSE_HOP_BY_HOP.filter((name) => name !== 'trailer'))

/**
 * The upstream's response headers without the hop-by-hop ones; the rest come back as they are.
 * `keepTrailer`: leave `Trailer` for the caller, which relays the trailers it names. A copy
 * rather than deletions: an object that loses properties turns slow for whoever reads it next.
 */
export function clientResponseHeaders (headers: IncomingHttpHeaders, keepTrailer = false): IncomingHttpHeaders {
  const dropped = keepTrailer ? RESPONSE_DROPPED_BUT_TRAILER : RESPONSE_DROPPED
  const connection = headers['connection']
  // `keep-alive` and `close`, by far the usual values, name no header.
  const named = connection === undefined || connection === 'keep-alive' || connection === 'close' ? undefined : listed(connection)
  const kept: IncomingHttpHeaders = {}
  for (const name in headers) {
    if (dropped.has(name) || named?.includes(name) === true) continue
    kept[name] = headers[name]
  }
  return kept
}

/** The trailer names an upstream response declares in its `Trailer` header. */
export function declaredTrailers (headers: IncomingHttpHeaders): string[] {
  return listed(headers['trailer'])
}
