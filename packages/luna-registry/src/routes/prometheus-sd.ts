import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { LunaRegistry } from '../registry.js'
import { ErrorResponses, PrometheusTargetGroupsSchema, SdQuerySchema, type InstanceView, type PrometheusTargetGroup } from '../schemas.js'

/** What Prometheus allows in a label name after its first character. */
const NOT_LABEL = /[^a-zA-Z0-9_]/g

/** The metadata key an instance sets to be scraped at a path other than `/metrics`. */
export const METRICS_PATH_KEY = 'metrics_path'

/**
 * An instance as a Prometheus target group: its URL's host and port (the scheme's port when the
 * URL names none), and what Luna knows of it as `__meta_luna_*` labels, metadata keys with every
 * character Prometheus does not allow in a label name as `_`. Two keys that come out the same
 * keep the value of the one that sorts first.
 */
export function targetGroup (instance: InstanceView): PrometheusTargetGroup {
  const url = new URL(instance.url)
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80'
  const labels: Record<string, string> = {
    __meta_luna_service: instance.name,
    __meta_luna_instance_id: instance.instanceId,
    __meta_luna_version: instance.version,
    __meta_luna_status: instance.status
  }
  if (url.protocol === 'https:') labels.__scheme__ = 'https'
  for (const key of Object.keys(instance.metadata).sort()) {
    labels[`__meta_luna_metadata_${key.replace(NOT_LABEL, '_')}`] ??= instance.metadata[key]!
  }
  const metricsPath = instance.metadata[METRICS_PATH_KEY]
  if (metricsPath !== undefined) labels.__metrics_path__ = metricsPath
  return { targets: [`${url.hostname}:${port}`], labels }
}

/**
 * `GET /sd/prometheus`: Prometheus's HTTP service discovery (`http_sd_configs`), one target group
 * per instance that is `OK`, optionally of one service.
 */
export const prometheusSdRoutes: FastifyPluginAsync<{ registry: LunaRegistry }> = async (fastify, { registry }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/sd/prometheus', {
    schema: {
      summary: 'Prometheus HTTP service discovery',
      description: 'One target group per OK instance, for Prometheus\'s `http_sd_configs`: `host:port` from the instance\'s URL, `__meta_luna_*` labels, and `__metrics_path__` from a `metrics_path` metadata key.',
      tags: ['observability'],
      querystring: SdQuerySchema,
      response: { 200: PrometheusTargetGroupsSchema, ...ErrorResponses }
    }
  }, async (request) => {
    const instances = await registry.listInstances({ service: request.query.service, status: 'OK' })
    return instances.map(targetGroup)
  })
}
