/** What an instance says about itself. */
export type ReportedStatus = 'OK' | 'DOWN'

export interface BalancerOptions {
  /** 0–1000; 0 sends no traffic. */
  weight: number
  [key: string]: unknown
}

/**
 * One registration as a store keeps it. Timestamps are epoch milliseconds. The effective status
 * is never stored: the plugin computes it from `status` and `lastHeartbeat` when it is read.
 */
export interface InstanceRecord {
  instanceId: string
  /** Always the service name part of `instanceId`, so a store may index by it. */
  name: string
  description?: string
  version: string
  url: string
  status: ReportedStatus
  balancerOptions: BalancerOptions
  metadata: Record<string, string>
  registeredAt: number
  lastHeartbeat: number
}

/** The fields a heartbeat replaces: everything but the registration time. */
export type InstanceUpdate = Omit<InstanceRecord, 'registeredAt'>

export interface RegisterResult {
  /** `true` when no instance had this id, `false` when a registration was replaced. */
  created: boolean
  instance: Readonly<InstanceRecord>
}

export interface ListFilter {
  /** Only the instances of this service. */
  service?: string
}

/**
 * The only thing a backend implements. Every method is async and every write is atomic.
 * Records handed out are read-only snapshots: callers never mutate them, stores never mutate
 * them after handing them out.
 */
export interface RegistryStore {
  /** Create, or replace whole, the instance with `record.instanceId`, and say which happened. */
  register (record: InstanceRecord): Promise<RegisterResult>
  /**
   * Replace the info of an existing instance, keeping its `registeredAt`. Resolves `undefined`
   * and writes nothing when the instance does not exist: a heartbeat never resurrects.
   */
  heartbeat (update: InstanceUpdate): Promise<Readonly<InstanceRecord> | undefined>
  /** Resolves `true` when the instance existed and is now gone. */
  remove (instanceId: string): Promise<boolean>
  get (instanceId: string): Promise<Readonly<InstanceRecord> | undefined>
  /** The instances, in no particular order; the plugin sorts. */
  list (filter?: ListFilter): Promise<Array<Readonly<InstanceRecord>>>
  close (): Promise<void>
}

export const STORE_METHODS = ['register', 'heartbeat', 'remove', 'get', 'list', 'close'] as const
