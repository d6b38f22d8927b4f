import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import lunaRegistry, { DEFAULT_USERNAME } from 'luna-registry'
import type { RedisStore } from 'luna-store-redis'
import type { ServerSettings } from './config.js'
import { isFollower, registerCors, registerGateway } from './gateway.js'

export interface BuildServerOptions extends Partial<Omit<ServerSettings, 'port' | 'host'>> {
  /** Where the JSON log lines go instead of standard output; redaction applies either way. */
  logStream?: { write (line: string): void }
  /** The registry's clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number
}

// Every request carries the basic auth credentials; whatever gets logged, they must not be.
const REDACT = ['req.headers.authorization', 'headers.authorization', '*.headers.authorization']

const HealthSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok', 'store unavailable', 'not synchronised'] } },
  required: ['status'],
  additionalProperties: false
} as const

/**
 * The luna-registry plugin in a Fastify server of its own, with `GET /healthz` beside it.
 * Not yet listening: call `listen()`, or `inject()` in tests.
 */
export function buildServer (options: BuildServerOptions = {}): FastifyInstance {
  const level = options.logLevel ?? 'info'
  const requestLogs = level === 'debug' || level === 'trace'
  const app = Fastify({
    // Every instance heartbeats every few seconds: a line per request would drown what matters
    // at info. Requests are logged at debug and trace; errors and refusals at every level.
    logController: new LogController({ disableRequestLogging: !requestLogs }),
    // Without request lines, a child logger per request only costs: requests log through the
    // server's own logger (and so without a reqId).
    ...(requestLogs ? {} : { childLoggerFactory: (logger: FastifyBaseLogger) => logger }),
    logger: {
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
      ...(options.logStream === undefined ? {} : { stream: options.logStream })
    }
  })

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

  app.register(fp(async (app) => {
    if (options.corsOrigin !== undefined && options.corsOrigin !== '') await registerCors(app, options.corsOrigin)
    if (isFollower(options)) {
      await registerGateway(app, options)
      return
    }
    if (options.store !== undefined && options.store !== 'memory') {
      const redis = await openRedisStore(options.store, options.storePrefix ?? 'luna:', app.log)
      store = redis
      // Give Redis a moment to connect before the first request; if it is away, start anyway
      // and answer 503 until it comes back.
      app.addHook('onReady', async () => { await redis.ready(2000).catch(() => {}) })
    }
    await app.register(lunaRegistry, {
      auth: { username: options.username ?? DEFAULT_USERNAME, password: options.password ?? '' },
      heartbeatTimeout: options.heartbeatTimeout,
      evictAfter: options.evictAfter,
      now: options.now,
      ...(store === undefined ? {} : { store })
    })
    if (options.gateway !== false) await registerGateway(app, options)
  }))
  return app
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
