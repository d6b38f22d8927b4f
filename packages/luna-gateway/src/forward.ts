import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyReplyFromHooks } from '@fastify/reply-from'
import type { Balancer } from 'luna-registry'
import { Attempts, classify, type Failure } from './attempts.js'
import { attemptBody, type BodyState } from './body.js'
import type { CoolDown } from './cool-down.js'
import type { GatewayMetrics } from './metrics.js'
import { kTrailers } from './dispatcher.js'
import { BadGatewayError, BodyTooLargeError, GatewayTimeoutError, InvalidPathError } from './errors.js'
import { clientResponseHeaders, declaredTrailers, upstreamRequestHeaders, type ForwardingOptions } from './headers.js'
import type { Routable } from './routing-table.js'
import { upstreamUrl, type GatewayTarget } from './target-path.js'

/** What every forwarded request shares. */
export interface ForwarderSettings {
  balancer: Balancer
  coolDown: CoolDown
  forwarding: ForwardingOptions
  attempts: number
  timeout: number
  bodyLimit: number
  metrics?: GatewayMetrics | undefined
}

/** One request on its way: where it goes, what it tried. */
interface Exchange {
  target: GatewayTarget
  attempts: Attempts
  /** The body as the client sends it, unread; `undefined` for a request without one. */
  source: Readable | undefined
  instance: Routable
  body: BodyState
}

const kExchange = Symbol('luna-gateway.exchange')
type WithExchange = FastifyRequest & { [kExchange]?: Exchange }

// Methods a client may send twice (RFC 9110 9.2.2): a timed-out one may go to another instance.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'PROPFIND', 'SEARCH', 'QUERY'])

/** The cause's own words, for a 502's message: `connect ECONNREFUSED 10.0.0.7:8080`. */
function reason (error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reason(error.errors[0])
  if (error instanceof Error) return error.message !== '' ? error.message : String((error as { code?: unknown }).code ?? error.name)
  return String(error)
}

/**
 * Whether a failed attempt may be repeated on another instance: only when its body was not read
 * (nothing of it reached an instance, so it can still be sent whole). A refused or broken
 * connection counts as a request that was not handled, whatever the method; a timeout only for
 * the methods a client may send twice.
 */
function retryable (failure: Failure, method: string, body: BodyState): boolean {
  if (body.read) return false
  return failure === 'connect' || failure === 'reset' || (failure === 'timeout' && IDEMPOTENT.has(method))
}

/** The trailers the upstream declared, sent after its body once it has ended. */
function relayTrailers (reply: FastifyReply, stream: unknown, names: string[]): void {
  const received = (): Record<string, string> | undefined => (stream as Record<symbol, Record<string, string> | undefined>)[kTrailers]
  for (const name of names) {
    try {
      reply.trailer(name, async () => {
        const value = received()?.[name]
        // A declared trailer that never came is left out (Fastify logs it at debug).
        if (value === undefined) throw new Error(`the upstream declared the trailer "${name}" but did not send it`)
        return value
      })
    } catch {
      // A name Fastify refuses as a trailer (content-length and the like) is not relayed.
    }
  }
}

/**
 * Forwards requests through @fastify/reply-from to one of their candidates, then, on a failure
 * before any response byte, to another, at most `attempts` in all; finally answers
 * `502 FST_LUNA_BAD_GATEWAY` or `504 FST_LUNA_GATEWAY_TIMEOUT`. An instance that cannot be
 * connected to cools down. The hooks handed to reply-from are made once, here: what each request
 * needs travels with it.
 */
export class Forwarder {
  readonly settings: ForwarderSettings
  readonly #hooks: FastifyReplyFromHooks

  constructor (settings: ForwarderSettings) {
    this.settings = settings
    const forwarding = settings.forwarding
    this.#hooks = {
      rewriteRequestHeaders: (request, headers) => upstreamRequestHeaders(request as FastifyRequest, headers as IncomingHttpHeaders, forwarding),
      // `trailer` stays among the reply's headers until the response is sent, below.
      rewriteHeaders: (headers) => clientResponseHeaders(headers as IncomingHttpHeaders, true),
      onResponse: (_request, reply, response) => {
        const declared = reply.getHeader('trailer')
        if (declared !== undefined) {
          reply.removeHeader('trailer')
          relayTrailers(reply as FastifyReply, response.stream, declaredTrailers({ trailer: String(declared) }))
        }
        reply.send(response.stream)
      },
      onError: (reply, { error }) => {
        this.#failed(reply.request as WithExchange, reply as FastifyReply, (error as { cause?: unknown }).cause ?? error)
      }
    }
  }

  forward (request: FastifyRequest, reply: FastifyReply, target: GatewayTarget, candidates: readonly Routable[]): void {
    const { settings } = this
    const attempts = new Attempts(target.service, candidates, settings.balancer, settings.coolDown, settings.attempts)
    // The '*' parser hands the body over unread, as a stream; requests without one have none.
    const exchange: Exchange = { target, attempts, source: request.body as Readable | undefined, instance: attempts.next()!, body: { read: false } }
    ;(request as WithExchange)[kExchange] = exchange
    this.#send(request, reply, exchange)
  }

  #send (request: FastifyRequest, reply: FastifyReply, exchange: Exchange): void {
    if (exchange.source !== undefined) request.body = attemptBody(exchange.source, this.settings.bodyLimit, exchange.body)
    try {
      reply.from(upstreamUrl(exchange.instance.url, exchange.target.rest), this.#hooks)
    } catch (error) {
      // reply-from checks the URL again and refuses some our checks let through; a 400 either way.
      const status = (error as { statusCode?: unknown }).statusCode
      reply.send(status === 400 ? new InvalidPathError(reason(error)) : new BadGatewayError(exchange.target.service, reason(error)))
    }
  }

  #failed (request: WithExchange, reply: FastifyReply, cause: unknown): void {
    const exchange = request[kExchange]!
    const { settings } = this
    if ((cause as { code?: unknown }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      reply.send(new BodyTooLargeError(settings.bodyLimit))
      return
    }
    const failure = classify(cause)
    const { instance, body, target } = exchange
    if (failure === 'connect') settings.coolDown.fail(instance.instanceId)
    settings.metrics?.upstreamError(target.service, failure)
    request.log.info({ instanceId: instance.instanceId, failure, err: cause }, 'luna-gateway: an attempt failed')
    const next = retryable(failure, request.method, body) ? exchange.attempts.next(failure === 'reset') : undefined
    if (next !== undefined) {
      exchange.instance = next
      exchange.body = { read: false }
      this.#send(request, reply, exchange)
      return
    }
    reply.send(failure === 'timeout'
      ? new GatewayTimeoutError(target.service, settings.timeout)
      : new BadGatewayError(target.service, reason(cause)))
  }
}
