import accepts from '@fastify/accepts'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ServiceNotFoundError } from '../errors.js'
import { renderOverview, renderService } from '../panel.js'
import type { LunaRegistry } from '../registry.js'
import { PIECE_SIZE } from '../json-stream.js'
import { nextTurn } from '../turns.js'
import { serviceListJson } from '../view-json.js'
import { sendList } from './lists.js'
import {
  ErrorResponses,
  InstanceViewSchema,
  ServiceListSchema,
  ServiceParamsSchema,
  ServiceQuerySchema,
  ServiceViewSchema,
  type InstanceView,
  type ServiceQuery,
  type ServiceView
} from '../schemas.js'
import { wildcardNamed } from '../validation.js'
import { metadataFilterOf, type MetadataFilter } from '../metadata-filter.js'

export interface ServiceRoutesOptions {
  registry: LunaRegistry
  /** Writes an instance view's JSON. */
  writeView: (view: InstanceView) => string
  panel: boolean
}

/**
 * JSON unless the `Accept` header ranks HTML above it (by quality, then by how exactly it names
 * the type, then by order), as browsers do: no header, a bare wildcard and a tie get JSON.
 */
const PANEL_TYPES = ['application/json', 'text/html']

export const serviceRoutes: FastifyPluginAsync<ServiceRoutesOptions> = async (fastify, { registry, writeView, panel }) => {
  // Decorates the requests of this scope only, not the host app's.
  if (panel) await fastify.register(accepts)
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  // The same URL answers HTML or JSON by the Accept header: caches must keep them apart.
  const wantsPanel = (request: FastifyRequest, reply: FastifyReply): boolean => {
    if (!panel) return false
    reply.header('vary', 'Accept')
    return request.accepts().type(PANEL_TYPES) === 'text/html'
  }

  const list = async (request: FastifyRequest, reply: FastifyReply, query: ServiceQuery, negotiate = true): Promise<undefined> => {
    const { status, limit, after } = query
    if (negotiate && wantsPanel(request, reply)) {
      // The overview shows no instances, so it reads the figures without building their views.
      await renderOverview(reply, registry, { status })
      return
    }
    // Reading and grouping a large registry takes a turn of its own.
    await nextTurn()
    const page = await registry.servicePage({ status, metadata: metadataFilterOf(query) }, { after, limit })
    await sendList(request, reply, page.next, serviceListJson(page.items, writeView, PIECE_SIZE))
  }

  const one = async (request: FastifyRequest, reply: FastifyReply, name: string, metadata: MetadataFilter | undefined): Promise<ServiceView | undefined> => {
    if (metadata !== undefined) {
      const service = await registry.getService(name, metadata)
      if (service === undefined) throw new ServiceNotFoundError(name)
      return service
    }
    const service = await registry.getService(name)
    if (!wantsPanel(request, reply)) {
      if (service === undefined) throw new ServiceNotFoundError(name)
      return service
    }
    // A browser gets the page even for a service with no instances: still a 404, but one that
    // shows the service the moment an instance registers.
    if (service === undefined) reply.code(404)
    await renderService(reply, registry, name, service)
  }

  app.get('/services', {
    schema: {
      summary: 'List services',
      description: 'Every service with its instances, sorted by name; a page of them with `limit` and `after`. A browser (an `Accept` header that ranks `text/html` above JSON) gets the panel instead.',
      tags: ['services'],
      querystring: ServiceQuerySchema,
      response: { 200: ServiceListSchema, ...ErrorResponses }
    }
  }, async (request, reply) => await list(request, reply, request.query))

  // One wildcard serves `/services/`, `/services/json`, `/services/{name}` and `/services/{name}/pick`: names may
  // be longer than the router's maxParamLength (100), which a `:name` param would turn into 404s.
  app.get('/services/*', {
    schemaErrorFormatter: wildcardNamed('name'),
    schema: {
      summary: 'A service, the service list, or one instance picked',
      description: '`/services/` and `/services/json`: the service list (`json` answers JSON whatever the `Accept` header). `/services/{name}`: the service. `/services/{name}/pick`: one OK instance by smooth weighted round-robin (503 when none has a weight above 0).',
      tags: ['services'],
      params: ServiceParamsSchema,
      querystring: ServiceQuerySchema,
      response: { 200: Type.Union([ServiceListSchema, ServiceViewSchema, InstanceViewSchema]), ...ErrorResponses }
    }
  }, async (request, reply): Promise<ServiceView | InstanceView | undefined> => {
    const path = request.params['*']
    if (path === '') return await list(request, reply, request.query)
    // The original Luna's address for the list: JSON whatever the Accept header. A service
    // named `json` is still read at `/services/json/pick`, and in the list.
    if (path === 'json') return await list(request, reply, request.query, false)
    const metadata = metadataFilterOf(request.query)
    if (path.endsWith('/pick')) return await registry.pick(path.slice(0, -'/pick'.length), metadata)
    return await one(request, reply, path, metadata)
  })
}
