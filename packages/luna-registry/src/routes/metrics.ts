import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import type { RegistryMetrics } from '../metrics.js'
import { ErrorResponses } from '../schemas.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A response that lasts as long as its client stays (the event stream): not a request duration. */
    lunaStream?: boolean
  }
}

/** `GET /metrics`: the registry's metrics in Prometheus's text format. */
export const metricsRoutes: FastifyPluginAsync<{ metrics: RegistryMetrics }> = async (fastify, { metrics }) => {
  fastify.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics',
      description: 'The registry\'s metrics in Prometheus\'s text exposition format: instances and services by status, changes, heartbeats, request durations by route, the process\'s own.',
      tags: ['observability'],
      response: { 200: { description: 'Prometheus text format, version 0.0.4', content: { 'text/plain': { schema: Type.String() } } }, ...ErrorResponses }
    }
  }, async (_request, reply) => {
    const text = await metrics.register.metrics()
    return await reply.type(metrics.register.contentType).send(text)
  })
}

/**
 * Times every answer of `scope` by its route as declared (`/registry/v1/instances/*`, never the
 * URL a client sent, so the labels stay few), counts refused credentials and the requests the
 * store failed. Fastify times every reply already: this reads its figure once the reply is sent.
 */
export function observeRequests (scope: FastifyInstance, metrics: RegistryMetrics): void {
  scope.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode
    if (status === 401) metrics.authFailure()
    if (request.routeOptions.config.lunaStream !== true) {
      metrics.request(request.method, request.routeOptions.url ?? 'unmatched', status, reply.elapsedTime / 1000)
    }
    done()
  })
  scope.addHook('onError', (_request, _reply, error, done) => {
    if (error.code === 'FST_LUNA_STORE_UNAVAILABLE') metrics.storeError()
    done()
  })
}
