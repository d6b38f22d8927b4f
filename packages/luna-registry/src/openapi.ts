import { readFileSync } from 'node:fs'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { ErrorSchema } from './schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The registry's OpenAPI document, in the registry's own scope only. */
    lunaOpenApi: () => OpenApiDocument
  }
}

export interface OpenApiDocument {
  openapi: string
  info: { title: string, version: string, description?: string }
  paths: Record<string, Record<string, OpenApiOperation>>
  components?: Record<string, Record<string, unknown>>
  [key: string]: unknown
}

export interface OpenApiOperation {
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Array<Record<string, unknown>>
  responses: Record<string, { description: string, content?: Record<string, { schema: unknown }> }>
  [key: string]: unknown
}

/**
 * Routes of other plugins beside the registry (the gateway's), described by them and listed in
 * the registry's document: OpenAPI path items by absolute path. A plugin offers them on its own
 * decorator as `openapi`.
 */
export interface OpenApiPaths {
  paths: Record<string, Record<string, OpenApiOperation>>
  tags: Array<{ name: string, description: string }>
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

const TAGS = [
  { name: 'instances', description: 'Registration, heartbeats and departures of instances, and reading them back' },
  { name: 'services', description: 'Services, their instances, and picking one' },
  { name: 'events', description: 'The change stream' },
  { name: 'observability', description: 'Metrics and Prometheus service discovery' },
  { name: 'guards', description: 'What keeps the registry from wiping itself: the summary, mass-expiry protection and maintenance holds' }
]

/** The router's wildcards, as the paths OpenAPI knows: `*` under `/instances/` is an instance id. */
const WILDCARDS: Array<[RegExp, string, string]> = [
  [/\/instances\/\*$/, '/instances/{id}', 'An instance id, `serviceName:domain:port`'],
  [/\/services\/\*$/, '/services/{path}', '`json` (the list, JSON whatever the Accept header), a service name, or a service name followed by `/pick`']
]

/** A wildcard route's schema with its `*` parameter renamed to what it stands for. */
function named (schema: Record<string, unknown>, name: string, description: string): Record<string, unknown> {
  // Every wildcard route requires its `*`.
  const params = schema['params'] as { properties: Record<string, object>, required: string[] }
  const { '*': wildcard, ...others } = params.properties
  return {
    ...schema,
    params: {
      ...params,
      properties: { ...others, [name]: { ...wildcard, description } },
      required: [...params.required.filter((key) => key !== '*'), name]
    }
  }
}

/**
 * `@fastify/swagger` in the registry's scope, under a decorator of its own (`lunaOpenApi`): it
 * sees every route registered after it there, and nothing of the host app's; a host app's own
 * `@fastify/swagger` keeps its `swagger` decorator. Registered before the routes.
 */
export async function registerOpenApi (scope: FastifyInstance, options: { basicAuth: boolean, extra: () => OpenApiPaths | undefined }): Promise<void> {
  await scope.register(swagger, {
    decorator: 'lunaOpenApi',
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Luna',
        version: VERSION,
        description: 'A service registry for services that talk HTTP: instances register, heartbeat and report their status; clients read back who is online. Every error has the shape of `Error`, with a code `FST_*` and a message that names the field and the rule.'
      },
      tags: TAGS,
      components: {
        schemas: { Error: ErrorSchema },
        ...(options.basicAuth ? { securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } } } : {})
      },
      ...(options.basicAuth ? { security: [{ basicAuth: [] }] } : {})
    },
    transform ({ schema, url }) {
      for (const [pattern, path, description] of WILDCARDS) {
        if (pattern.test(url)) {
          const name = path.slice(path.indexOf('{') + 1, -1)
          return { schema: named(schema as Record<string, unknown>, name, description) as never, url: url.replace(pattern, path) }
        }
      }
      return { schema: schema as never, url }
    },
    transformObject (documents) {
      const openapiObject = (documents as { openapiObject: OpenApiDocument & { tags: unknown[] } }).openapiObject
      const extra = options.extra()
      if (extra === undefined) return openapiObject as never
      return {
        ...openapiObject,
        tags: [...openapiObject.tags, ...extra.tags],
        paths: { ...openapiObject.paths, ...extra.paths }
      } as never
    }
  })
}
