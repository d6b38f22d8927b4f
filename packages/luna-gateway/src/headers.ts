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
  for (const name of listed(headers['connection'])) delete headers[name]
  for (const name of REQUEST_HOP_BY_HOP) delete headers[name]
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

/** The upstream's response headers without the hop-by-hop ones; the rest come back as they are. */
export function clientResponseHeaders (headers: IncomingHttpHeaders): IncomingHttpHeaders {
  for (const name of listed(headers['connection'])) delete headers[name]
  for (const name of RESPONSE_HOP_BY_HOP) delete headers[name]
  return headers
}

/** The trailer names an upstream response declares in its `Trailer` header. */
export function declaredTrailers (headers: IncomingHttpHeaders): string[] {
  return listed(headers['trailer'])
}
