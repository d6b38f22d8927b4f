import type { OpenApiOperation, OpenApiPaths } from 'luna-registry'

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'] as const

function error (description: string): OpenApiOperation['responses'][string] {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
}

/**
 * The gateway's route as OpenAPI path items, listed in the registry's document: a described
 * pass-through, every method alike, the answers the gateway gives of its own with the registry's
 * error shape, and any other answer the instance's.
 */
export function gatewayOpenApi (prefix: string, auth: boolean): OpenApiPaths {
  const operation = (method: string): OpenApiOperation => ({
    operationId: `gateway${method[0]!.toUpperCase()}${method.slice(1)}`,
    summary: 'Forward a request to an instance of a service',
    description: 'Forwarded as it is (method, headers but the hop-by-hop ones, body, query string byte for byte) to `{path}` below the URL of one OK instance of `{name}` with a weight above 0, chosen by the gateway\'s balancer; WebSocket upgrades and event streams too. The instance\'s answer comes back as it is: its status, headers and body.',
    tags: ['gateway'],
    parameters: [
      { name: 'name', in: 'path', required: true, description: 'The service', schema: { type: 'string' } },
      { name: 'path', in: 'path', required: true, description: 'The rest of the path, slashes included, below the instance\'s URL', schema: { type: 'string' } }
    ],
    // The gateway carries the services' own traffic and auth unless it was put behind the registry's.
    ...(auth ? {} : { security: [] }),
    responses: {
      default: { description: 'The instance\'s own answer' },
      400: error('`FST_LUNA_INVALID_PATH`: a path segment that could leave the instance\'s base path'),
      404: error('`FST_LUNA_SERVICE_NOT_FOUND`: no instance of that service is registered'),
      413: error('`FST_ERR_CTP_BODY_TOO_LARGE`: the body is larger than the gateway\'s limit'),
      502: error('`FST_LUNA_BAD_GATEWAY`: no instance could be reached'),
      503: error('`FST_LUNA_NO_INSTANCE_AVAILABLE` (no OK instance with a weight above 0) or `FST_LUNA_GATEWAY_NOT_SYNCHRONISED`'),
      504: error('`FST_LUNA_GATEWAY_TIMEOUT`: the instance sent no response headers in time')
    }
  })
  return {
    tags: [{ name: 'gateway', description: 'Requests to the services, through the gateway' }],
    paths: { [`${prefix}/services/{name}/{path}`]: Object.fromEntries(METHODS.map((method) => [method, operation(method)])) }
  }
}
