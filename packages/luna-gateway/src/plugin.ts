import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http'
import replyFrom from '@fastify/reply-from'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { addMetadataEntry, createBalancer, type MetadataFilter, type OpenApiPaths } from 'luna-registry'
import { protect } from './auth.js'
import { CoolDown } from './cool-down.js'
import { createDispatcher } from './dispatcher.js'
import {
  BodyTooLargeError,
  InvalidGatewayOptionError,
  NoInstanceAvailableError,
  NotSynchronisedError,
  RouteNotFoundError,
  ServiceNotFoundError
} from './errors.js'
import { Forwarder } from './forward.js'
import { gatewayOpenApi } from './openapi.js'
import { gatewayMetrics } from './metrics.js'
import { normaliseGatewayOptions, type LunaGatewayOptions } from './options.js'
import { FollowerTable, RegistryTable, type RoutingTable } from './routing-table.js'
import { targetParser } from './target-path.js'
import { pendingUpgrade, UpgradeProxy } from './websocket.js'

/** What the gateway shows the app, as `fastify.lunaGateway`. */
export interface LunaGatewayState {
  /** Whether it knows the registry's contents: always in process; a follower after its first snapshot. */
  readonly synchronised: boolean
  /** `registry` when it reads the registry of this process, `follower` when it follows a remote one. */
  readonly mode: 'registry' | 'follower'
  /** Its routes, as the registry's OpenAPI document lists them. */
  readonly openapi: OpenApiPaths
}

declare module 'fastify' {
  interface FastifyInstance {
    lunaGateway: LunaGatewayState
  }
}

/** The header that narrows the instances a request may go to: `X-Luna-Metadata-zone: eu-1`. */
const METADATA_HEADER_PREFIX = 'x-luna-metadata-'

/**
 * The metadata filter of a request's `X-Luna-Metadata-<key>` headers, `undefined` without any.
 * Header names carry no case: Node hands them over in lowercase, so only lowercase metadata keys
 * can be asked for this way. Checked as the registry checks `metadata.KEY` query parameters.
 */
function metadataHeaders (headers: IncomingHttpHeaders): MetadataFilter | undefined {
  let filter: Array<[string, string]> | undefined
  for (const name in headers) {
    if (!name.startsWith(METADATA_HEADER_PREFIX)) continue
    filter ??= []
    addMetadataEntry(filter, `headers/${name}`, name.slice(METADATA_HEADER_PREFIX.length), headers[name])
  }
  return filter
}

function notFound (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = new RouteNotFoundError(request.method, request.url)
  return reply.code(404).send({ statusCode: 404, code: error.code, error: STATUS_CODES[404]!, message: error.message })
}

/**
 * Errors in Fastify's shape. The gateway's own answers (`FST_LUNA_*`) and client mistakes keep
 * their status and message; an upstream that cannot be reached is the instance's trouble, not
 * the gateway's, and is logged as a warning; anything else is a bare 500, logged as an error.
 */
function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const given = error.statusCode ?? 500
  const known = given >= 400 && (given < 500 || (given < 600 && error.code?.startsWith('FST_LUNA_') === true))
  if (!known) {
    request.log.error({ err: error }, 'luna-gateway: request failed')
    return reply.code(500).send({ statusCode: 500, code: 'FST_LUNA_INTERNAL_ERROR', error: STATUS_CODES[500]!, message: 'Internal Server Error' })
  }
  if (given === 401) reply.header('www-authenticate', 'Basic realm="Luna"')
  if (given >= 500) request.log.warn({ err: error }, error.message)
  else request.log.info({ err: error }, error.message)
  return reply.code(given).send({ statusCode: given, code: error.code ?? 'FST_ERR_BAD_REQUEST', error: STATUS_CODES[given] ?? 'Error', message: error.message })
}

const plugin: FastifyPluginAsync<LunaGatewayOptions> = async (fastify, options) => {
  const settings = normaliseGatewayOptions(options)
  let table: RoutingTable
  if (settings.source === undefined) {
    if (!fastify.hasDecorator('lunaRegistry')) {
      throw new InvalidGatewayOptionError('registry', 'is required when the app has no luna-registry: register luna-registry first, or pass registry or registryUrl')
    }
    table = new RegistryTable(fastify.lunaRegistry)
  } else if ('registry' in settings.source) {
    table = new RegistryTable(settings.source.registry)
  } else {
    table = new FollowerTable({
      url: settings.source.registryUrl,
      ...(settings.source.registryPrefix === undefined ? {} : { prefix: settings.source.registryPrefix }),
      ...(settings.source.watch === undefined ? {} : { watch: settings.source.watch }),
      log: fastify.log
    })
  }
  const mode = table instanceof FollowerTable ? 'follower' : 'registry'
  fastify.decorate('lunaGateway', {
    get synchronised () { return table.synchronised },
    mode,
    openapi: gatewayOpenApi(settings.prefix, settings.auth !== false)
  } satisfies LunaGatewayState)

  const balancer = createBalancer(settings.balancer)
  // Counted into the registry's metrics, served at its /metrics, when the app has them.
  const metrics = fastify.lunaMetrics === undefined ? undefined : gatewayMetrics(fastify.lunaMetrics)
  const forwarder = new Forwarder({
    metrics,
    balancer,
    coolDown: new CoolDown(settings.coolDown, settings.now),
    forwarding: { preserveHost: settings.preserveHost, consumesAuthorization: settings.auth !== false },
    attempts: settings.attempts,
    timeout: settings.timeout,
    bodyLimit: settings.bodyLimit
  })
  const dispatcher = createDispatcher(settings)
  const upgrades = new UpgradeProxy(fastify, `${settings.prefix}/services/`)
  // Tunnels are no requests: the server would wait for them to end before it closes.
  fastify.addHook('preClose', async () => { upgrades.close() })
  fastify.addHook('onClose', async () => {
    table.close()
    await dispatcher.close()
  })

  const parseTarget = targetParser(settings.prefix)
  await fastify.register(async (child: FastifyInstance) => {
    // Our own agent, closed above: reply-from never destroys one it was given.
    await child.register(replyFrom, { undici: dispatcher as never, disableRequestLogging: true })
    child.setErrorHandler(errorHandler)
    if (settings.prefix !== '') child.setNotFoundHandler(notFound)
    // Bodies are forwarded as they arrive, whatever their type, never parsed here.
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('*', (request, payload, done) => {
      const length = Number(request.headers['content-length'])
      if (length > settings.bodyLimit) done(new BodyTooLargeError(settings.bodyLimit), undefined)
      else done(null, payload)
    })
    if (settings.auth !== false) await protect(child, settings.auth)

    child.all('/services/*', async (request, reply) => {
      const target = parseTarget(request.url)
      if (target === undefined) return notFound(request, reply)
      if (!table.synchronised) throw new NotSynchronisedError()
      const metadata = metadataHeaders(request.headers)
      const candidates = await table.routable(target.service, metadata)
      if (candidates === undefined) {
        balancer.forget(target.service)
        metrics?.unknownService()
        throw new ServiceNotFoundError(target.service)
      }
      metrics?.request(target.service)
      if (candidates.length === 0) throw new NoInstanceAvailableError(target.service)
      const upgrade = pendingUpgrade(request)
      if (upgrade !== undefined) {
        await upgrades.tunnel(forwarder.settings, request, reply, target, candidates, upgrade, settings.connectTimeout)
        return reply
      }
      forwarder.forward(request, reply, target, candidates)
      return reply
    })
  }, { prefix: settings.prefix })
}

/**
 * The Luna gateway as a Fastify plugin: `fastify.register(lunaGateway, options)` forwards
 * `{prefix}/services/{name}/…` to an instance of `{name}` that is `OK`, chosen by the balancer.
 */
export const lunaGateway = fp(plugin, { name: 'luna-gateway', fastify: '5.x' })
