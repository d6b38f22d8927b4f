import type { InstanceView } from './schemas.js'

/**
 * The JSON of a single instance view, field by field in the schema's order: half the time of the
 * schema-compiled serialiser, which walks the two open-ended objects (metadata and balancer
 * options) key by key where `JSON.stringify` writes them in one go.
 */
export function viewJson (view: InstanceView): string {
  let json = '{"instanceId":' + JSON.stringify(view.instanceId) + ',"name":' + JSON.stringify(view.name)
  if (view.description !== undefined) json += ',"description":' + JSON.stringify(view.description)
  json += ',"version":' + JSON.stringify(view.version) +
    ',"url":' + JSON.stringify(view.url) +
    ',"status":' + JSON.stringify(view.status) +
    ',"reportedStatus":' + JSON.stringify(view.reportedStatus) +
    ',"balancerOptions":' + JSON.stringify(view.balancerOptions) +
    ',"metadata":' + JSON.stringify(view.metadata) +
    ',"registeredAt":' + JSON.stringify(view.registeredAt) +
    ',"lastHeartbeat":' + JSON.stringify(view.lastHeartbeat)
  if (view.downSince !== undefined) json += ',"downSince":' + JSON.stringify(view.downSince)
  return json + '}'
}
