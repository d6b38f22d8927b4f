import type { FastifyPluginAsync, FastifyRequest, FastifySchemaCompiler, FastifySerializerCompiler, preHandlerHookHandler } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InstanceNotFoundError, InvalidInstanceIdError } from '../errors.js'
import { parseInstanceId } from '../instance-id.js'
import { validatorCompiler, wildcardNamed } from '../validation.js'
import { instanceListJson, plainJson } from '../view-json.js'
import { nextTurn, PIECE_SIZE } from '../json-stream.js'
import { sendList } from './lists.js'
import { bodyDigest } from '../known-bodies.js'
import { bodyBytes, checkedJsonParser } from '../request-body.js'
import { kBodies, kHeartbeat, kInstancePage, kRegister, type LunaRegistry } from '../registry.js'
import {
  type InstanceParams,
  ErrorResponses,
  InstanceInfoSchema,
  InstanceListSchema,
  InstanceParamsSchema,
  InstanceQuerySchema,
  InstanceViewSchema,
  type InstanceInfo
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
  const known = registry[kBodies]

  // A success is one view, most often of a remembered body, whose JSON is then mostly written;
  // errors are built field by field in the schema's shape.
  const writeView = known.writeView.bind(known) as (data: unknown) => string
  const viewSerializer: FastifySerializerCompiler<object> = ({ httpStatus }) =>
    httpStatus?.startsWith('2') === true ? writeView : plainJson
  const answersView = { ...formatter, serializerCompiler: viewSerializer }

  // A body that is the one last accepted for this instance (most heartbeats) comes back as the
  // info it was then, already checked (its bytes UTF-8 among the rest); any other is parsed, and
  // its digest kept with it until it has been accepted and can be remembered. What the headers
  // say of the bytes is checked for every request.
  const parseJson = checkedJsonParser(fastify.getDefaultJsonParser('error', 'error'))
  const digests = new WeakMap<object, string>()
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    let bytes: Buffer
    try {
      bytes = bodyBytes(request, raw as Buffer)
    } catch (error) {
      return done(error as Error)
    }
    const digest = bodyDigest(bytes)
    const info = known.lookup((request.params as InstanceParams)['*'], digest)
    if (info !== undefined) return done(null, info)
    parseJson(request, bytes, (error, body) => {
      if (error === null && typeof body === 'object' && body !== null) digests.set(body, digest)
      done(error, body)
    })
  })
  // `instanceId` is the store's own string: the request's is a slice that would keep its URL alive.
  const remember = (request: FastifyRequest, instanceId: string): void => {
    const info = request.body as InstanceInfo
    const digest = digests.get(info)
    if (digest === undefined) return
    digests.delete(info)
    known.remember(instanceId, digest, info)
  }
  // What `lookup` gave passed this schema when it was remembered.
  const bodyValidator: FastifySchemaCompiler<object> = (route) => {
    const validate = validatorCompiler(route)
    if (route.httpPart !== 'body') return validate
    const check: ReturnType<FastifySchemaCompiler<object>> = (data: unknown): boolean => {
      if (known.checked(data)) return true
      const valid = validate(data) as boolean
      check.errors = validate.errors
      return valid
    }
    return check
  }
  const takesBody = { ...answersView, bodyLimit: BODY_LIMIT, validatorCompiler: bodyValidator }

  app.post('/instances/*', {
    ...takesBody,
    schema: {
      params: InstanceParamsSchema,
      body: InstanceInfoSchema,
      response: { 200: InstanceViewSchema, 201: InstanceViewSchema, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { created, instance } = await registry[kRegister](request.params['*'], known.freeze(request.body))
    remember(request, instance.instanceId)
    return await reply.code(created ? 201 : 200).send(instance)
  })

  app.put('/instances/*', {
    ...takesBody,
    schema: {
      params: InstanceParamsSchema,
      body: InstanceInfoSchema,
      response: { 200: InstanceViewSchema, ...ErrorResponses }
    }
  }, async (request) => {
    const instance = await registry[kHeartbeat](request.params['*'], known.freeze(request.body))
    if (instance === undefined) throw new InstanceNotFoundError(request.params['*'])
    remember(request, instance.instanceId)
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
    ...answersView,
    preHandler: checkId,
    schema: { params: InstanceParamsSchema, response: { 200: InstanceViewSchema, ...ErrorResponses } }
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
export const instanceListRoutes: FastifyPluginAsync<{ registry: LunaRegistry }> = async (fastify, { registry }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const known = registry[kBodies]
  const writeView = known.writeView.bind(known)

  app.get('/instances', {
    // The list is streamed; the schema documents it.
    schema: { querystring: InstanceQuerySchema, response: { 200: InstanceListSchema, ...ErrorResponses } }
  }, async (request, reply) => {
    const { service, status, limit, after } = request.query
    // Reading and sorting a large registry takes a turn of its own.
    await nextTurn()
    const page = await registry[kInstancePage]({ service, status }, { after, limit })
    return await sendList(request, reply, page.next, instanceListJson(page.items, writeView, PIECE_SIZE))
  })
}
