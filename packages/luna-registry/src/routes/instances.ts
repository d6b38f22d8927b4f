import type { FastifyPluginAsync, FastifyReply, preHandlerHookHandler, preValidationHookHandler } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InstanceNotFoundError, InvalidInstanceIdError, RouteNotFoundError } from '../errors.js'
import { parseInstanceId } from '../instance-id.js'
import { MINIMAL_APPLIED, wantsMinimal } from '../prefer.js'
import { wildcardNamed } from '../validation.js'
import { withoutUserinfo } from '../userinfo.js'
import { instanceListJson } from '../view-json.js'
import { PIECE_SIZE } from '../json-stream.js'
import { nextTurn } from '../turns.js'
import { sendList } from './lists.js'
import { metadataFilterOf } from '../metadata-filter.js'
import type { LunaRegistry } from '../registry.js'
import type { RegistryMetrics } from '../metrics.js'
import {
  type InstanceParams,
  ErrorResponses,
  InstanceInfoSchema,
  InstanceListSchema,
  InstanceParamsSchema,
  InstanceQuerySchema,
  InstanceViewSchema,
  type InstanceView
} from '../schemas.js'

/** Instance bodies are small; anything larger is a mistake or an attack. */
export const BODY_LIMIT = 64 * 1024

const formatter = { schemaErrorFormatter: wildcardNamed('id') }

// POST and PUT check the id while building the record; GET and DELETE check it here, so a
// malformed id is a 400 naming the part rather than a 404.
const checkId: preHandlerHookHandler = async (request) => {
  const id = (request.params as InstanceParams)['*']
  const parsed = parseInstanceId(id)
  if (!parsed.ok) throw new InvalidInstanceIdError(id, parsed.reason)
}

// An instance id has no `/`: `/instances/a:b:1/extra` is another route, and there is none.
const onePathSegment: preValidationHookHandler = (request, _reply, done) => {
  if (!(request.params as InstanceParams)['*'].includes('/')) return done()
  done(new RouteNotFoundError(request.method, withoutUserinfo(request.url)))
}

/** The answer to `Prefer: return=minimal`: the status alone, no body (RFC 7240). */
async function minimal (reply: FastifyReply, status: 201 | 204): Promise<FastifyReply> {
  return await reply.header('preference-applied', MINIMAL_APPLIED).code(status).send()
}

export const instanceRoutes: FastifyPluginAsync<{ registry: LunaRegistry, metrics: RegistryMetrics | undefined }> = async (fastify, { registry, metrics }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const takesBody = { ...formatter, bodyLimit: BODY_LIMIT, preValidation: onePathSegment }

  app.post('/instances/*', {
    ...takesBody,
    schema: {
      summary: 'Register an instance',
      description: 'Creates the registration (201) or replaces it whole (200). The instance must then heartbeat within `heartbeatTimeout` (30 s by default) or turn DOWN.',
      tags: ['instances'],
      params: InstanceParamsSchema,
      body: InstanceInfoSchema,
      response: { 200: InstanceViewSchema, 201: InstanceViewSchema, 204: Type.Null(), ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { created, instance } = await registry.register(request.params['*'], request.body)
    // Without the view, a new registration is still told from a replaced one: 201 or 204.
    if (wantsMinimal(request.headers.prefer)) return await minimal(reply, created ? 201 : 204)
    return await reply.code(created ? 201 : 200).send(instance)
  })

  app.put('/instances/*', {
    ...takesBody,
    schema: {
      summary: 'Heartbeat',
      description: 'Replaces the info of a registered instance and refreshes its heartbeat. 404 means the instance is not registered (any more): register again.',
      tags: ['instances'],
      params: InstanceParamsSchema,
      body: InstanceInfoSchema,
      response: { 200: InstanceViewSchema, 204: Type.Null(), ...ErrorResponses }
    }
  }, async (request, reply) => {
    const instance = await registry.heartbeat(request.params['*'], request.body)
    if (instance === undefined) throw new InstanceNotFoundError(request.params['*'])
    metrics?.heartbeat()
    if (wantsMinimal(request.headers.prefer)) return await minimal(reply, 204)
    return instance
  })

  app.delete('/instances/*', {
    ...formatter,
    preValidation: onePathSegment,
    preHandler: checkId,
    schema: {
      summary: 'Deregister an instance',
      tags: ['instances'],
      params: InstanceParamsSchema,
      response: { 204: Type.Null({ description: 'Deregistered' }), ...ErrorResponses }
    }
  }, async (request, reply) => {
    if (!await registry.deregister(request.params['*'])) throw new InstanceNotFoundError(request.params['*'])
    return await reply.code(204).send(null)
  })

  app.get('/instances/*', {
    ...formatter,
    preValidation: onePathSegment,
    preHandler: checkId,
    schema: { summary: 'Read an instance', tags: ['instances'], params: InstanceParamsSchema, response: { 200: InstanceViewSchema, ...ErrorResponses } }
  }, async (request) => {
    const instance = await registry.getInstance(request.params['*'])
    if (instance === undefined) throw new InstanceNotFoundError(request.params['*'])
    return instance
  })
}

/**
 * `GET /instances`, apart from the routes above: it is registered where responses may be
 * compressed, which the heartbeat path has no use for.
 */
export const instanceListRoutes: FastifyPluginAsync<{ registry: LunaRegistry, writeView: (view: InstanceView) => string }> = async (fastify, { registry, writeView }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/instances', {
    // The list is streamed; the schema documents it.
    schema: {
      summary: 'List instances',
      description: 'Sorted by id, optionally of one service and with one effective status; a page of them with `limit` and `after`, with a `Link` header to the next page while more follow.',
      tags: ['instances'],
      querystring: InstanceQuerySchema,
      response: { 200: InstanceListSchema, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { service, status, limit, after } = request.query
    // Reading and sorting a large registry takes a turn of its own.
    await nextTurn()
    const metadata = metadataFilterOf(request.query)
    const page = await registry.instancePage({ service, status, metadata }, { after, limit })
    return await sendList(request, reply, page.next, instanceListJson(page.items, writeView, PIECE_SIZE))
  })
}
