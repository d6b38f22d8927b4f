import type { FastifyPluginAsync, FastifySerializerCompiler } from 'fastify'
import { bodyDigest, KnownBodies } from './known-bodies.js'
import type { LunaRegistry } from './registry.js'
import type { RegistryMetrics } from './metrics.js'
import { bodyBytes, checkedJsonParser } from './request-body.js'
import { plainJson } from './view-json.js'

export { KnownBodies } from './known-bodies.js'

export interface RememberedBodiesOptions {
  registry: LunaRegistry
  bodies: KnownBodies
  /** The routes that take instance bodies, registered inside this scope. */
  routes: FastifyPluginAsync<{ registry: LunaRegistry, metrics: RegistryMetrics | undefined }>
  metrics: RegistryMetrics | undefined
}

/**
 * The remembered-bodies fast path, whole, around the routes that take instance bodies. The body
 * parser hands a body that repeats the one last accepted for its instance id back as the frozen
 * info it was then, without parsing it (the validator knows it passed, see `validation.ts`; the
 * registry knows it agrees with the id, see `records.ts`); every body accepted is remembered
 * with the digest of its bytes once the registry has taken it; an instance removed anywhere is
 * forgotten; and views are written from the text kept with their remembered body. The registry
 * and the routes see plain checked infos and views: nothing of this leaks into them.
 */
export const rememberedBodies: FastifyPluginAsync<RememberedBodiesOptions> = async (fastify, { registry, bodies, routes, metrics }) => {
  const forget = (event: { instanceId: string }): void => { bodies.forget(event.instanceId) }
  registry.on('deregistered', forget)
  registry.on('evicted', forget)
  fastify.addHook('onClose', async () => {
    registry.off('deregistered', forget)
    registry.off('evicted', forget)
  })

  const parseJson = checkedJsonParser(fastify.getDefaultJsonParser('error', 'error'))
  const digests = new WeakMap<object, string>()
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    let bytes: Buffer
    try {
      // What the headers say of the bytes is checked for every request.
      bytes = bodyBytes(request, raw as Buffer)
    } catch (error) {
      return done(error as Error)
    }
    const instanceId = (request.params as { '*': string })['*']
    if (!bodies.worthDigest(instanceId)) return parseJson(request, bytes, done)
    const digest = bodyDigest(bytes)
    const info = bodies.lookup(instanceId, digest)
    if (info !== undefined) return done(null, info)
    parseJson(request, bytes, (error, body) => {
      if (error === null && typeof body === 'object' && body !== null) digests.set(body, digest)
      done(error, body)
    })
  })

  // Once the registry took a body it had not seen (any success, with a view or without one, as
  // `Prefer: return=minimal` is answered), it is remembered under the URL's id. One hook for
  // every answer; an instance already known keeps its first id string.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const info = request.body as object | undefined
    if (reply.statusCode < 300 && info !== undefined) {
      const digest = digests.get(info)
      if (digest !== undefined) {
        digests.delete(info)
        bodies.remember((request.params as { '*': string })['*'], digest, info as never)
      }
    }
    done(null, payload)
  })

  // A success is one view, most often of a remembered body, whose JSON is then mostly written;
  // errors are built field by field in the schema's shape.
  const writeView = bodies.writeView.bind(bodies) as (data: unknown) => string
  const viewSerializer: FastifySerializerCompiler<object> = ({ httpStatus }) =>
    httpStatus === '200' || httpStatus === '201' ? writeView : plainJson
  fastify.setSerializerCompiler(viewSerializer)

  await fastify.register(routes, { registry, metrics })
}
