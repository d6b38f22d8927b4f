import type { GuardStore, Maintenance, ProtectionState, ProtectionSwap, RecentTimeout } from '../store.js'

const OFF: ProtectionState = Object.freeze({ active: false, version: 0 })

/**
 * The guards' state in process memory: the memory store's, and the registry's own for a store
 * that keeps none. Every method completes synchronously, so each is atomic.
 */
export class MemoryGuards implements GuardStore {
  #swept: number | undefined
  readonly #timeouts = new Map<string, number>()
  #protection: ProtectionState = OFF
  readonly #maintenance = new Map<string, Maintenance>()

  async markSwept (at: number): Promise<number | undefined> {
    const previous = this.#swept
    if (previous === undefined || at > previous) this.#swept = at
    return previous
  }

  async noteTimeouts (timeouts: readonly RecentTimeout[], keepAfter: number): Promise<RecentTimeout[]> {
    for (const { instanceId, at } of timeouts) this.#timeouts.set(instanceId, Math.max(at, this.#timeouts.get(instanceId) ?? -Infinity))
    const kept: RecentTimeout[] = []
    for (const [instanceId, at] of this.#timeouts) {
      if (at <= keepAfter) this.#timeouts.delete(instanceId)
      else kept.push({ instanceId, at })
    }
    return kept
  }

  async readProtection (): Promise<ProtectionState> {
    return this.#protection
  }

  async swapProtection (expected: number, next: ProtectionState): Promise<ProtectionSwap> {
    const swapped = this.#protection.version === expected
    if (swapped) this.#protection = Object.freeze({ ...next })
    return { swapped, state: this.#protection }
  }

  async setMaintenance (instanceId: string, maintenance: Maintenance): Promise<void> {
    this.#maintenance.set(instanceId, Object.freeze({ reason: maintenance.reason, since: maintenance.since }))
  }

  async clearMaintenance (instanceId: string): Promise<boolean> {
    return this.#maintenance.delete(instanceId)
  }

  async listMaintenance (): Promise<Array<[string, Maintenance]>> {
    return [...this.#maintenance]
  }
}
