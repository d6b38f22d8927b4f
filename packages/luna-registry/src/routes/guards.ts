import type { FastifyPluginAsync, preHandlerHookHandler } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InstanceNotFoundError, InvalidInstanceIdError } from '../errors.js'
import { parseInstanceId } from '../instance-id.js'
import type { LunaRegistry } from '../registry.js'
import {
  ErrorResponses,
  InstanceViewSchema,
  MaintenanceBodySchema,
  ProtectionSchema,
  SummarySchema
} from '../schemas.js'

const MaintenanceParamsSchema = Type.Object({ id: Type.String({ maxLength: 512 }) })

const checkId: preHandlerHookHandler = async (request) => {
  const { id } = request.params as { id: string }
  const parsed = parseInstanceId(id)
  if (!parsed.ok) throw new InvalidInstanceIdError(id, parsed.reason)
}

/**
 * What operators see of the guards and act on: the summary (protection included), ending
 * protection, and maintenance holds. Every route but the summary changes the registry: an
 * operator's, never an instance's, action.
 */
export const guardRoutes: FastifyPluginAsync<{ registry: LunaRegistry }> = async (fastify, { registry }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/summary', {
    schema: { summary: 'The registry at a glance', description: 'How many services and instances, how many of them are up, and whether mass-expiry protection is on and why.', tags: ['guards'], response: { 200: SummarySchema, ...ErrorResponses } }
  }, async () => await registry.summary())

  app.delete('/protection', {
    schema: { summary: 'End mass-expiry protection', description: 'Evictions resume at once; nothing happens when protection is off.', tags: ['guards'], response: { 200: ProtectionSchema, ...ErrorResponses } }
  }, async () => await registry.endProtection())

  // `:id`, not a wildcard as the other instance routes: a wildcard cannot be followed by more
  // path. An id longer than the app's `maxParamLength` (Fastify's default is 100) does not reach
  // these routes: luna-server raises it; in process, `setMaintenance` takes any id.
  app.put('/instances/:id/maintenance', {
    preHandler: checkId,
    schema: { summary: 'Put an instance in maintenance', description: 'The instance is DOWN and gets no traffic, whatever it reports, until the hold is lifted; re-registering does not lift it.', tags: ['guards'], params: MaintenanceParamsSchema, body: MaintenanceBodySchema, response: { 200: InstanceViewSchema, ...ErrorResponses } }
  }, async (request) => {
    const instance = await registry.setMaintenance(request.params.id, request.body.reason)
    if (instance === undefined) throw new InstanceNotFoundError(request.params.id)
    return instance
  })

  app.delete('/instances/:id/maintenance', {
    preHandler: checkId,
    schema: { summary: 'Lift a maintenance hold', description: 'The status is computed as usual again (200 and the view); 204 when the hold was on an instance that is not registered now.', tags: ['guards'], params: MaintenanceParamsSchema, response: { 200: InstanceViewSchema, 204: Type.Null(), ...ErrorResponses } }
  }, async (request, reply) => {
    const { lifted, instance } = await registry.liftMaintenance(request.params.id)
    if (instance !== undefined) return instance
    // A hold on an instance that is not registered now: lifted all the same.
    if (lifted) return await reply.code(204).send(null)
    throw new InstanceNotFoundError(request.params.id)
  })
}
