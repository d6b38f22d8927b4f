import type { InstanceView, RegistryEvent, ServiceView } from './types.js'

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The description of the most recently registered instance that has one, as the registry says it. */
function describe (instances: readonly InstanceView[]): string {
  let latest: InstanceView | undefined
  for (const instance of instances) {
    if (instance.description === undefined || instance.description === '') continue
    // ISO 8601 timestamps of one format sort as the times they stand for.
    if (latest === undefined || instance.registeredAt > latest.registeredAt ||
      (instance.registeredAt === latest.registeredAt && instance.instanceId < latest.instanceId)) {
      latest = instance
    }
  }
  return latest?.description ?? ''
}

function serviceView (name: string, instances: InstanceView[]): ServiceView {
  const instancesOnline = instances.filter((instance) => instance.status === 'OK').length
  return {
    name,
    description: describe(instances),
    status: instancesOnline > 0 ? 'UP' : 'DOWN',
    instancesOnline,
    instancesTotal: instances.length,
    instances
  }
}

/** `services` with `name` replaced by a service of `instances`, or without it when there are none. */
function withService (services: readonly ServiceView[], name: string, instances: InstanceView[]): ServiceView[] {
  const others = services.filter((service) => service.name !== name)
  if (instances.length === 0) return others
  return [...others, serviceView(name, instances)].sort((a, b) => compare(a.name, b.name))
}

/**
 * The service list after `event`, computed as the registry computes its views: services sorted
 * by name, instances by id, a service gone with its last instance. Returns new arrays and leaves
 * `services` as it was, so that a listener may keep the list it was given.
 */
export function applyEvent (services: readonly ServiceView[], event: RegistryEvent): ServiceView[] {
  // The registry's own state, not an instance's: the list stays as it is.
  if (event.type === 'protection') return [...services]
  const current = services.find((service) => service.name === event.service)?.instances ?? []
  const others = current.filter((instance) => instance.instanceId !== event.instanceId)
  switch (event.type) {
    case 'registered':
    case 'updated':
    case 'status':
    case 'maintenance':
      return withService(services, event.service, [...others, event.instance].sort((a, b) => compare(a.instanceId, b.instanceId)))
    case 'deregistered':
    case 'evicted':
      return withService(services, event.service, others)
    default:
      return [...services]
  }
}
