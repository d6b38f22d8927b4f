import { InstanceIdMismatchError, InvalidInstanceIdError } from './errors.js'
import { parseInstanceId } from './instance-id.js'
import { assertInstanceInfo } from './validation.js'
import type { InstanceInfo, InstanceView, ServiceView } from './schemas.js'
import type { InstanceRecord, InstanceUpdate, RegistryStore } from './store.js'

export type InstanceStatus = 'OK' | 'DOWN'
export type ServiceStatus = 'UP' | 'DOWN'

export interface InstanceFilter {
  service?: string
  status?: InstanceStatus
}

// The routes' bodies already passed the schema; these skip checking them a second time.
export const kRegister = Symbol('luna-registry.register')
export const kHeartbeat = Symbol('luna-registry.heartbeat')

export interface RegisterOutcome {
  created: boolean
  instance: InstanceView
}

/** The in-process face of the registry, decorated on the Fastify instance as `lunaRegistry`. */
export class LunaRegistry {
  readonly store: RegistryStore
  /** Milliseconds after the last heartbeat at which an instance counts as DOWN. */
  readonly heartbeatTimeout: number
  readonly now: () => number

  constructor (options: { store: RegistryStore, heartbeatTimeout: number, now: () => number }) {
    this.store = options.store
    this.heartbeatTimeout = options.heartbeatTimeout
    this.now = options.now
  }

  /** `DOWN` when the instance says so or its last heartbeat is `heartbeatTimeout` old; else `OK`. */
  statusOf (record: Pick<InstanceRecord, 'status' | 'lastHeartbeat'>, now = this.now()): InstanceStatus {
    return record.status === 'DOWN' || now - record.lastHeartbeat >= this.heartbeatTimeout ? 'DOWN' : 'OK'
  }

  /** Create or replace the registration of `instanceId`; `info` is checked as a POST body is. */
  async register (instanceId: string, info: InstanceInfo): Promise<RegisterOutcome> {
    assertInstanceInfo(info)
    return await this[kRegister](instanceId, info)
  }

  /**
   * Replace the info of a registered instance and refresh its heartbeat; `undefined` if unknown.
   * `info` is checked as a PUT body is.
   */
  async heartbeat (instanceId: string, info: InstanceInfo): Promise<InstanceView | undefined> {
    assertInstanceInfo(info)
    return await this[kHeartbeat](instanceId, info)
  }

  async [kRegister] (instanceId: string, info: InstanceInfo): Promise<RegisterOutcome> {
    const now = this.now()
    const { created, instance } = await this.store.register({ ...recordFrom(instanceId, info, now), registeredAt: now })
    return { created, instance: this.view(instance, now) }
  }

  async [kHeartbeat] (instanceId: string, info: InstanceInfo): Promise<InstanceView | undefined> {
    const now = this.now()
    const instance = await this.store.heartbeat(recordFrom(instanceId, info, now))
    return instance === undefined ? undefined : this.view(instance, now)
  }

  /** Remove the instance; `false` when it was not registered. */
  async deregister (instanceId: string): Promise<boolean> {
    return await this.store.remove(instanceId)
  }

  async getInstance (instanceId: string): Promise<InstanceView | undefined> {
    const instance = await this.store.get(instanceId)
    return instance === undefined ? undefined : this.view(instance, this.now())
  }

  /** Instances sorted by id, optionally of one service and with one effective status. */
  async listInstances (filter: InstanceFilter = {}): Promise<InstanceView[]> {
    const now = this.now()
    const records = await this.store.list(filter.service === undefined ? {} : { service: filter.service })
    const views = sortById(records).map((record) => this.view(record, now))
    return filter.status === undefined ? views : views.filter((view) => view.status === filter.status)
  }

  /** Every service that has instances, sorted by name, each with its instances sorted by id. */
  async listServices (): Promise<ServiceView[]> {
    const now = this.now()
    const byName = new Map<string, Array<Readonly<InstanceRecord>>>()
    for (const record of await this.store.list()) {
      const group = byName.get(record.name)
      if (group === undefined) byName.set(record.name, [record])
      else group.push(record)
    }
    return [...byName.keys()].sort(compare).map((name) => this.serviceView(name, byName.get(name)!, now))
  }

  async getService (name: string): Promise<ServiceView | undefined> {
    const records = await this.store.list({ service: name })
    return records.length === 0 ? undefined : this.serviceView(name, records, this.now())
  }

  view (record: Readonly<InstanceRecord>, now = this.now()): InstanceView {
    const view: InstanceView = {
      instanceId: record.instanceId,
      name: record.name,
      version: record.version,
      url: record.url,
      status: this.statusOf(record, now),
      reportedStatus: record.status,
      balancerOptions: record.balancerOptions,
      metadata: record.metadata,
      registeredAt: new Date(record.registeredAt).toISOString(),
      lastHeartbeat: new Date(record.lastHeartbeat).toISOString()
    }
    if (record.description !== undefined) view.description = record.description
    return view
  }

  serviceView (name: string, records: Array<Readonly<InstanceRecord>>, now = this.now()): ServiceView {
    const instances = sortById(records).map((record) => this.view(record, now))
    const instancesOnline = instances.filter((instance) => instance.status === 'OK').length
    return {
      name,
      description: serviceDescription(records),
      status: instancesOnline > 0 ? 'UP' : 'DOWN',
      instancesOnline,
      instancesTotal: instances.length,
      instances
    }
  }
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function sortById (records: Array<Readonly<InstanceRecord>>): Array<Readonly<InstanceRecord>> {
  return records.slice().sort((a, b) => compare(a.instanceId, b.instanceId))
}

/** The description of the most recently registered instance that has one, else `''`. */
function serviceDescription (records: Array<Readonly<InstanceRecord>>): string {
  let latest: Readonly<InstanceRecord> | undefined
  for (const record of records) {
    if (record.description === undefined || record.description === '') continue
    if (latest === undefined || record.registeredAt > latest.registeredAt ||
      (record.registeredAt === latest.registeredAt && record.instanceId < latest.instanceId)) {
      latest = record
    }
  }
  return latest?.description ?? ''
}

/**
 * The record to store for `info` sent to `instanceId`: the id is checked part by part, the body
 * must agree with it, and only the known fields are kept.
 */
export function recordFrom (instanceId: string, info: InstanceInfo, now: number): InstanceUpdate {
  const parsed = parseInstanceId(instanceId)
  if (!parsed.ok) throw new InvalidInstanceIdError(instanceId, parsed.reason)
  if (info.instanceId !== undefined && info.instanceId !== instanceId) {
    throw new InstanceIdMismatchError('instanceId', 'the instance id', info.instanceId)
  }
  if (info.name !== parsed.parts.serviceName) {
    throw new InstanceIdMismatchError('name', `the service name "${parsed.parts.serviceName}"`, info.name)
  }
  const record: InstanceUpdate = {
    instanceId,
    name: info.name,
    version: info.version,
    url: info.url,
    status: info.status,
    balancerOptions: { ...info.balancerOptions, weight: info.balancerOptions?.weight ?? 1 },
    metadata: { ...info.metadata },
    lastHeartbeat: now
  }
  if (info.description !== undefined) record.description = info.description
  return record
}
