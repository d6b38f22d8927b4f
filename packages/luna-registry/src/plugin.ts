import zlib from 'node:zlib'
import compress from '@fastify/compress'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import { protect } from './auth.js'
import { normaliseOptions, type LunaRegistryOptions } from './options.js'
import { LunaRegistry } from './registry.js'
import { KnownBodies, rememberedBodies } from './remembered-bodies.js'
import { jsonBodyParser } from './request-body.js'
import { eventRoutes } from './routes/events.js'
import { guardRoutes } from './routes/guards.js'
import { instanceListRoutes, instanceRoutes } from './routes/instances.js'
import { serviceRoutes } from './routes/services.js'
import { panelAssets, panelViews } from './panel.js'
import { errorHandler, notFoundHandler } from './http-errors.js'
import { schemaErrorFormatter, validatorCompiler } from './validation.js'
import { servicesJson } from './view-json.js'
import { RegistryMetrics } from './metrics.js'
import { metricsRoutes, observeRequests } from './routes/metrics.js'
import { prometheusSdRoutes } from './routes/prometheus-sd.js'
import { registerOpenApi, type OpenApiPaths } from './openapi.js'
import { docsRoutes } from './docs.js'

/** Bytes below which an answer goes out as it is: compressing it would save less than it costs. */
const COMPRESS_THRESHOLD = 1024

declare module 'fastify' {
  interface FastifyInstance {
    lunaRegistry: LunaRegistry
    /**
     * The registry's metrics (a prom-client `Registry` of its own), when metrics are on: a plugin
     * beside the registry, such as the gateway, adds its own metrics to it.
     */
    lunaMetrics?: Registry
  }
}

const plugin: FastifyPluginAsync<LunaRegistryOptions> = async (fastify, options) => {
  const settings = normaliseOptions(options)
  const registry = new LunaRegistry({ ...settings, log: fastify.log })
  fastify.decorate('lunaRegistry', registry)
  const metrics = settings.metrics ? new RegistryMetrics(registry) : undefined
  if (metrics !== undefined) fastify.decorate('lunaMetrics', metrics.register)
  fastify.addHook('onReady', async () => { await registry.start() })
  fastify.addHook('onClose', async () => {
    metrics?.close()
    await registry.stop()
    // A store passed in is the caller's to close, as a client passed to @fastify/redis is.
    if (settings.ownsStore) await settings.store.close()
  })
  // The bodies last accepted from each instance, and their views' JSON: see remembered-bodies.ts.
  const bodies = new KnownBodies()
  const writeView = bodies.writeView.bind(bodies)

  // Everything below lives in an encapsulated child: the host app sees the decorator and the
  // routes, never the auth hook, the validator, the error handler or the view engine.
  await fastify.register(async (child: FastifyInstance) => {
    // A browser must take every answer for the type it says, never sniff a JSON body or an error
    // into HTML or a script. Set on the raw response, first of all, so that errors, 401s, 404s
    // and the hijacked event stream carry it too.
    child.addHook('onRequest', (_request, reply, done) => {
      reply.raw.setHeader('x-content-type-options', 'nosniff')
      done()
    })
    child.setValidatorCompiler(validatorCompiler)
    child.setSchemaErrorFormatter(schemaErrorFormatter)
    child.setErrorHandler(errorHandler)
    if (metrics !== undefined) observeRequests(child, metrics)
    // Before the routes, to see them all; the gateway, beside the registry, describes its own.
    await registerOpenApi(child, {
      basicAuth: settings.auth !== false,
      extra: () => fastify.hasDecorator('lunaGateway') ? (fastify as unknown as { lunaGateway: { openapi?: OpenApiPaths } }).lunaGateway.openapi : undefined
    })
    // The wire format is JSON: whatever parsers the host app added, another type gets a 415.
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('application/json', { parseAs: 'buffer' }, jsonBodyParser(child.getDefaultJsonParser('error', 'error')))
    if (settings.auth !== false) await protect(child, settings.auth, settings.prefix)
    // A prefix of its own gets a JSON 404 behind the same auth; at the root that is the host's call.
    if (settings.prefix !== '') child.setNotFoundHandler(notFoundHandler)
    await child.register(rememberedBodies, { registry, bodies, routes: instanceRoutes, metrics })
    await child.register(guardRoutes, { registry })
    // The stream writes its own response, so no compression ever holds back an event.
    await child.register(eventRoutes, { registry, writeView, metrics, ...settings.events })
    // The reads whose answers can be large: compressed when the client asks for it, away from
    // the heartbeat path, which gets no compression hook at all. The view engine adds a hook of
    // its own; keeping it here, beside the instance routes, keeps it off that path too.
    await child.register(async (reads: FastifyInstance) => {
      await reads.register(compress, {
        // A stream holds its compressor's state for as long as its client does not read: brotli
        // at quality 1 with a 256 KiB window holds as little as gzip does and is the quicker of
        // the two; at higher qualities and its default window it holds many times more. gzip at
        // its fastest level, with a quarter less state (memLevel 7): JSON lists compress well
        // enough either way, and the default level costs several times the CPU.
        encodings: ['br', 'gzip'],
        brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_LGWIN]: 18 } },
        zlibOptions: { level: 1, memLevel: 7 },
        threshold: COMPRESS_THRESHOLD,
        // Requests are JSON, never compressed: only answers are.
        globalDecompression: false
      })
      await reads.register(instanceListRoutes, { registry, writeView })
      await reads.register(prometheusSdRoutes, { registry })
      if (metrics !== undefined) await reads.register(metricsRoutes, { metrics })
      reads.get('/openapi.json', { schema: { hide: true } }, async () => child.lunaOpenApi())
      await reads.register(docsRoutes, { base: settings.prefix })
      await reads.register(async (services: FastifyInstance) => {
        // A single service and a pick are written field by field, each view from its
        // remembered body's text where there is one; lists are streamed by the routes.
        services.setSerializerCompiler(() => (data: unknown) => servicesJson(data, writeView))
        if (settings.panel) {
          await panelViews(services, settings.prefix)
          await services.register(panelAssets)
        }
        await services.register(serviceRoutes, { registry, writeView, panel: settings.panel })
      })
    })
  }, { prefix: settings.prefix })
}

/** The Luna service registry as a Fastify plugin: `fastify.register(lunaRegistry, options)`. */
export const lunaRegistry = fp(plugin, { name: 'luna-registry', fastify: '5.x' })
