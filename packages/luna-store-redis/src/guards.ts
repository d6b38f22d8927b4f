import type { GuardStore, Maintenance, ProtectionState, ProtectionSwap, RecentTimeout } from 'luna-registry'
import type { Client, OutageWatch } from './connection.js'
import { defineGuardScripts, type GuardScripts } from './guard-scripts.js'

/**
 * The names of the guards' keys: apart from the instances', under one hash tag, so that a
 * cluster keeps them together.
 */
export class GuardKeys {
  /** When a replica last looked at the deadlines (epoch ms). */
  readonly swept: string
  /** Instances announced as timed out while OK, scored by time. */
  readonly timeouts: string
  /** The protection state, as JSON. */
  readonly protection: string
  /** Instance id → its maintenance hold, as JSON. */
  readonly maintenance: string

  constructor (prefix: string) {
    this.swept = `${prefix}{guards}:swept`
    this.timeouts = `${prefix}{guards}:timeouts`
    this.protection = `${prefix}{guards}:protection`
    this.maintenance = `${prefix}{guards}:maintenance`
  }
}

const OFF: ProtectionState = { active: false, version: 0 }

function stateOf (json: string | null): ProtectionState {
  return json === null || json === '' ? OFF : JSON.parse(json) as ProtectionState
}

/** The registry's guards in Redis, shared by every replica: one sweep mark, one protection state, one set of holds. */
export class RedisGuards implements GuardStore {
  readonly #redis: Client & GuardScripts
  readonly #outages: OutageWatch
  readonly #keys: GuardKeys

  constructor (redis: Client, outages: OutageWatch, prefix: string) {
    this.#redis = defineGuardScripts(redis)
    this.#outages = outages
    this.#keys = new GuardKeys(prefix)
  }

  async markSwept (at: number): Promise<number | undefined> {
    const previous = await this.#outages.call(() => this.#redis.lunaMarkSwept(this.#keys.swept, at))
    return previous === null ? undefined : Number(previous)
  }

  async noteTimeouts (timeouts: readonly RecentTimeout[], keepAfter: number): Promise<RecentTimeout[]> {
    const args: Array<string | number> = [keepAfter === -Infinity ? '-inf' : keepAfter]
    for (const { instanceId, at } of timeouts) args.push(instanceId, at)
    const flat = await this.#outages.call(() => this.#redis.lunaNoteTimeouts(this.#keys.timeouts, ...args))
    const kept: RecentTimeout[] = []
    for (let i = 0; i < flat.length; i += 2) kept.push({ instanceId: flat[i]!, at: Number(flat[i + 1]) })
    return kept
  }

  async readProtection (): Promise<ProtectionState> {
    return stateOf(await this.#outages.call(() => this.#redis.get(this.#keys.protection)))
  }

  async swapProtection (expected: number, next: ProtectionState): Promise<ProtectionSwap> {
    const [swapped, json] = await this.#outages.call(() => this.#redis.lunaSwapProtection(this.#keys.protection, expected, JSON.stringify(next)))
    return { swapped: swapped === 1, state: stateOf(json) }
  }

  async setMaintenance (instanceId: string, maintenance: Maintenance): Promise<void> {
    await this.#outages.call(() => this.#redis.hset(this.#keys.maintenance, instanceId, JSON.stringify({ reason: maintenance.reason, since: maintenance.since })))
  }

  async clearMaintenance (instanceId: string): Promise<boolean> {
    return await this.#outages.call(() => this.#redis.hdel(this.#keys.maintenance, instanceId)) === 1
  }

  async listMaintenance (): Promise<Array<[string, Maintenance]>> {
    const all = await this.#outages.call(() => this.#redis.hgetall(this.#keys.maintenance))
    return Object.entries(all).map(([instanceId, json]) => [instanceId, JSON.parse(json) as Maintenance])
  }
}
