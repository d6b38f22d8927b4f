import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import lunaRegistry, { DEFAULT_PREFIX, DEFAULT_USERNAME, withoutUserinfo, type AuthFailureStore, type LunaAuthOptions, type LunaUsers } from 'luna-registry'
import { stdSerializers } from 'pino'
import type { RedisStore } from 'luna-store-redis'
import type { TlsFiles } from './access-files.js'
import type { ServerSettings } from './config.js'
import { timeBodies } from './body-deadlines.js'
import { isFollower, registerCors, registerGateway } from './gateway.js'
import { registerRenderer } from './render.js'

export interface BuildServerOptions extends Partial<Omit<ServerSettings, 'port' | 'host' | 'closeTimeout' | 'usersFile' | 'tlsCert' | 'tlsKey'>> {
  /** Where the JSON log lines go instead of standard output; redaction applies either way. */
  logStream?: { write (line: string): void }
  /** The registry's clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number
  /** The users, with their roles, instead of `username` and `password`. */
  users?: LunaUsers
  /** HTTPS with this certificate and key; `app.server.setSecureContext` replaces them. */
  tls?: TlsFiles
}

const DEFAULT_REQUEST_TIMEOUT = 30_000

/** Whether a request goes through the gateway, to a service: its answer is the service's own. */
const throughGateway = (url: string): boolean => url.startsWith('/gateway/')

// Every request carries the basic auth credentials; whatever gets logged, they must not be.
const REDACT = ['req.headers.authorization', 'headers.authorization', '*.headers.authorization']

/**
 * Fastify's serialisers, less what may carry credentials that a client put in its request line
 * (`GET http://user:password@host/path HTTP/1.1`): the URL without them, and no `rawPacket` (the
 * bytes of a request Node could not parse) on a client error.
 */
const SERIALIZERS = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: withoutUserinfo(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }),
  err: (error: Error) => {
    const { rawPacket: _rawPacket, ...serialised } = stdSerializers.err(error) as ReturnType<typeof stdSerializers.err> & { rawPacket?: unknown }
    return serialised
  }
}

const HealthSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok', 'store unavailable', 'not synchronised'] } },
  required: ['status'],
  additionalProperties: false
} as const

const ProbeSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok', 'store unavailable', 'not synchronised'] } },
  required: ['status'],
  additionalProperties: false
} as const

/** How long `/readyz` waits for the store: within an orchestrator's usual one-second probe timeout. */
export const READY_TIMEOUT = 900

/** Resolves with `promise`, or rejects once `ms` have passed. */
async function within<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return await Promise.race([
    promise,
    new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)) }, ms)
    })
  ]).finally(() => { clearTimeout(timer) })
}

/**
 * Fastify's own lines about a request, written as the registry writes its own: a client's mistake
 * (a 404 outside the registry, a 4xx from a route the embedding app added) at debug in one line
 * without a stack, and never a URL with the credentials a client may have put in it.
 */
class RequestLogs extends LogController {
  override defaultErrorLog (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) return super.defaultErrorLog(error, request, reply)
    if (this.isLogDisabled(request)) return
    request.log.debug({ code: error.code, statusCode: reply.statusCode, method: request.method, url: withoutUserinfo(request.url) }, error.message)
  }

  override routeNotFound (request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return
    request.log.debug({ statusCode: 404, method: request.method, url: withoutUserinfo(request.url) }, 'route not found')
  }
}

/**
 * The luna-registry plugin in a Fastify server of its own, with `GET /healthz` beside it.
 * Not yet listening: call `listen()`, or `inject()` in tests.
 */
export function buildServer (options: BuildServerOptions = {}): FastifyInstance {
  const level = options.logLevel ?? 'info'
  const requestLogs = level === 'debug' || level === 'trace'
  const requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT
  // A client that sends its headers or its body slowly, or not at all, or keeps a connection
  // idle, holds a file descriptor for as long as it is let: each gets `requestTimeout`, then a
  // 408 (or, between requests, the connection is closed). Only the arrival of a request is timed:
  // an event stream, a long response to a request that arrived whole, is not cut. Bodies are
  // timed by `timeBodies`, below, rather than by Node's `requestTimeout`.
  const serverOptions = {
    requestTimeout: 0,
    headersTimeout: requestTimeout,
    // How often Node looks for requests past their time: at its default (30 s) a stalled
    // request would be cut up to 30 s late.
    connectionsCheckingInterval: Math.min(requestTimeout, 1000)
  }
  const app = Fastify({
    requestTimeout: 0,
    keepAliveTimeout: requestTimeout,
    ...(options.tls === undefined ? { http: serverOptions } : { https: { ...serverOptions, cert: options.tls.cert, key: options.tls.key } }),
    // `{prefix}/instances/{id}/maintenance` names the id with a route parameter: room for the
    // longest id (512 characters), percent-encoded.
    routerOptions: { maxParamLength: 3 * 512 },
    // Every instance heartbeats every few seconds: a line per request would drown what matters
    // at info. Requests, and the mistakes of clients, are logged at debug and trace.
    logController: new RequestLogs({ disableRequestLogging: !requestLogs }),
    // Without request lines, a child logger per request only costs: requests log through the
    // server's own logger (and so without a reqId).
    ...(requestLogs ? {} : { childLoggerFactory: (logger: FastifyBaseLogger) => logger }),
    logger: {
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: SERIALIZERS,
      ...(options.logStream === undefined ? {} : { stream: options.logStream })
    }
  })

  // As the registry's routes do, on every answer of the server: set before Fastify sees the
  // request, it is on /healthz, on 404s and on what Fastify answers by itself (a malformed URL,
  // a 503 while closing) too. Over a socket only: `inject()` does not go through the server.
  // The gateway's answers are the upstreams' own, headers as they sent them: not touched here.
  app.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!throughGateway(request.url ?? '')) response.setHeader('x-content-type-options', 'nosniff')
  })
  // An upload through the gateway may take its time, as long as it keeps coming.
  timeBodies(app.server, requestTimeout, throughGateway)

  let store: RedisStore | undefined

  // For load balancers and orchestrators: no auth, and nothing about the registry's contents but
  // whether it can answer. Probed every few seconds: logged only when something goes wrong.
  app.get('/healthz', {
    logLevel: 'warn',
    schema: { response: { 200: HealthSchema, 503: HealthSchema } }
  }, async (_request, reply) => {
    if (store !== undefined && !store.available()) {
      return await reply.code(503).send({ status: 'store unavailable' })
    }
    // A gateway-only replica that has never had the registry's list cannot route anything.
    if (app.hasDecorator('lunaGateway') && !app.lunaGateway.synchronised) {
      return await reply.code(503).send({ status: 'not synchronised' })
    }
    return { status: 'ok' }
  })

  // Kubernetes-style probes, beside /healthz and like it without auth. Liveness: the process
  // answers, and its event loop turns (the answer waits for a turn). Readiness: the store
  // answers a check now, within READY_TIMEOUT. Once the server is closing, Fastify answers
  // every request, these included, 503 with `Connection: close` before any route runs.
  const probe = { logLevel: 'warn', schema: { response: { 200: ProbeSchema, 503: ProbeSchema } } } as const
  app.get('/livez', probe, async () => {
    await new Promise((resolve) => setImmediate(resolve))
    return { status: 'ok' }
  })
  app.get('/readyz', probe, async (request, reply) => {
    if (app.hasDecorator('lunaGateway') && !app.lunaGateway.synchronised) {
      return await reply.code(503).send({ status: 'not synchronised' })
    }
    if (app.hasDecorator('lunaRegistry')) {
      try {
        await within(app.lunaRegistry.ping(), READY_TIMEOUT)
      } catch (error) {
        // The store logs its outages once; a probe every few seconds would repeat them.
        request.log.debug({ err: error }, 'readiness: the store did not answer')
        return await reply.code(503).send({ status: 'store unavailable' })
      }
    }
    return { status: 'ok' }
  })

  app.register(fp(async (app) => {
    if (options.corsOrigin !== undefined && options.corsOrigin !== '') await registerCors(app, options.corsOrigin)
    if (isFollower(options)) {
      await registerGateway(app, options)
      return
    }
    if (options.store !== undefined && options.store !== 'memory') {
      const redis = await openRedisStore(options.store, options.storePrefix ?? 'luna:', app.log)
      store = redis
      // A store passed to the registry stays its creator's to close. onClose hooks run last
      // added first: added before the registry's, this one runs once the registry has stopped
      // and its last sweep is done with the store.
      app.addHook('onClose', async () => { await redis.close() })
      // Give Redis a moment to connect before the first request; if it is away, start anyway
      // and answer 503 until it comes back.
      app.addHook('onReady', async () => { await redis.ready(2000).catch(() => {}) })
    }
    await app.register(lunaRegistry, {
      auth: await registryAuth(app, options),
      heartbeatTimeout: options.heartbeatTimeout,
      evictAfter: options.evictAfter,
      protectionThreshold: options.protectionThreshold,
      protectionMaxDuration: options.protectionMaxDuration,
      metrics: options.metrics,
      now: options.now,
      ...(store === undefined ? {} : { store })
    })
    // The address an operator tries first leads to the panel, which then asks for the credentials.
    app.get('/', async (_request, reply) => await reply.redirect(`${DEFAULT_PREFIX}/services/`))
    if (options.gateway !== false) await registerGateway(app, options)
    registerRenderer(app, options)
  }))
  return app as unknown as FastifyInstance
}

/**
 * Who may use the registry: the users, or the one admin; failures counted in Redis when the
 * registry is kept there, so that replicas refuse a guessing address together.
 */
async function registryAuth (app: FastifyInstance, options: BuildServerOptions): Promise<LunaAuthOptions> {
  const who = options.users === undefined
    ? { username: options.username ?? DEFAULT_USERNAME, password: options.password ?? '' }
    : { users: options.users }
  let failureStore: AuthFailureStore | undefined
  if (options.store !== undefined && options.store !== 'memory') {
    const { RedisFailureStore } = await import('luna-store-redis')
    const store = new RedisFailureStore({ url: options.store, keyPrefix: options.storePrefix ?? 'luna:' })
    app.addHook('onClose', async () => { await store.close() })
    failureStore = store
  }
  return { ...who, ...(options.maxFailures === undefined ? {} : { maxFailures: options.maxFailures }), ...(failureStore === undefined ? {} : { failureStore }) }
}

/**
 * The Redis store, loaded only when asked for: it is an optional peer, so the memory store's
 * users install neither it nor ioredis.
 */
async function openRedisStore (url: string, keyPrefix: string, log: FastifyBaseLogger): Promise<RedisStore> {
  let module: typeof import('luna-store-redis')
  try {
    module = await import('luna-store-redis')
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new Error('--store redis://… needs the luna-store-redis package: npm install luna-store-redis')
  }
  return new module.RedisStore({ url, keyPrefix, log })
}
