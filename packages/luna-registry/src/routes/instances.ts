import type { FastifyPluginAsync, preHandlerHookHandler } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InstanceNotFoundError, InvalidInstanceIdError } from '../errors.js'
import { parseInstanceId } from '../instance-id.js'
import { wildcardNamed } from '../validation.js'
import { kHeartbeat, kRegister, type LunaRegistry } from '../registry.js'
import {
  type InstanceParams,
  ErrorResponses,
  InstanceInfoSchema,
  InstanceListSchema,
  InstanceParamsSchema,
  InstanceQuerySchema,
  InstanceViewSchema
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

export const instanceRoutes: FastifyPluginAsync<{ registry: LunaRegistry }> = async (fastify, { registry }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.post('/instances/*', {
    ...formatter,
    bodyLimit: BODY_LIMIT,
    schema: {
      params: InstanceParamsSchema,
      body: InstanceInfoSchema,
      response: { 200: InstanceViewSchema, 201: InstanceViewSchema, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { created, instance } = await registry[kRegister](request.params['*'], request.body)
    return await reply.code(created ? 201 : 200).send(instance)
  })

  app.put('/instances/*', {
    ...formatter,
    bodyLimit: BODY_LIMIT,
    schema: {
      params: InstanceParamsSchema,
      body: InstanceInfoSchema,
      response: { 200: InstanceViewSchema, ...ErrorResponses }
    }
  }, async (request) => {
    const instance = await registry[kHeartbeat](request.params['*'], request.body)
    if (instance === undefined) throw new InstanceNotFoundError(request.params['*'])
    return instance
  })

  app.delete('/instances/*', {
    ...formatter,
    preHandler: checkId,
    schema: { params: InstanceParamsSchema, response: { 204: Type.Null(), ...ErrorResponses } }
  }, async (request, reply) => {
    if (!await registry.deregister(request.params['*'])) throw new InstanceNotFoundError(request.params['*'])
    return await reply.code(204).send(null)
  })

  app.get('/instances/*', {
    ...formatter,
    preHandler: checkId,
    schema: { params: InstanceParamsSchema, response: { 200: InstanceViewSchema, ...ErrorResponses } }
  }, async (request) => {
    const instance = await registry.getInstance(request.params['*'])
    if (instance === undefined) throw new InstanceNotFoundError(request.params['*'])
    return instance
  })

  app.get('/instances', {
    // A list of open-ended views: JSON.stringify beats the schema-compiled serialiser here.
    serializerCompiler: () => (data) => JSON.stringify(data),
    schema: { querystring: InstanceQuerySchema, response: { 200: InstanceListSchema, ...ErrorResponses } }
  }, async (request) => await registry.listInstances(request.query))
}
