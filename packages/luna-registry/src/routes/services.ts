import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ServiceNotFoundError } from '../errors.js'
import { prefersHtml } from '../negotiation.js'
import { renderOverview, renderService } from '../panel.js'
import type { LunaRegistry } from '../registry.js'
import { wildcardNamed } from '../validation.js'
import { ErrorResponses, ServiceListSchema, ServiceParamsSchema, ServiceViewSchema, type ServiceView } from '../schemas.js'

export interface ServiceRoutesOptions {
  registry: LunaRegistry
  panel: boolean
}

export const serviceRoutes: FastifyPluginAsync<ServiceRoutesOptions> = async (fastify, { registry, panel }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const wantsPanel = (request: FastifyRequest): boolean => panel && prefersHtml(request.headers.accept)

  const list = async (request: FastifyRequest, reply: FastifyReply): Promise<ServiceView[] | undefined> => {
    const services = await registry.listServices()
    if (!wantsPanel(request)) return services
    await renderOverview(reply, registry, services)
  }

  app.get('/services', { schema: { response: { 200: ServiceListSchema, ...ErrorResponses } } }, list)

  // A wildcard rather than `:name`: names may be longer than the router's maxParamLength, and
  // `/services/` (the empty name) is the list again.
  app.get('/services/*', {
    schemaErrorFormatter: wildcardNamed('name'),
    schema: {
      params: ServiceParamsSchema,
      response: { 200: Type.Union([ServiceListSchema, ServiceViewSchema]), ...ErrorResponses }
    }
  }, async (request, reply) => {
    const name = request.params['*']
    if (name === '') return await list(request, reply)
    const service = await registry.getService(name)
    if (service === undefined) throw new ServiceNotFoundError(name)
    if (!wantsPanel(request)) return service
    await renderService(reply, registry, service)
  })
}
