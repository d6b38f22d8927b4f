/**
 * Passive health, as nginx's `max_fails=1 fail_timeout=…`: an instance that could not be
 * connected to is skipped for `period` milliseconds, so one that crashed while still registered
 * `OK` costs one failed connection attempt per period, and no failed request.
 */
export class CoolDown {
  readonly #period: number
  readonly #now: () => number
  /** Instance id → until when it is skipped. */
  readonly #until = new Map<string, number>()

  constructor (period: number, now: () => number) {
    this.#period = period
    this.#now = now
  }

  /** Skip `instanceId` for the next period. */
  fail (instanceId: string): void {
    if (this.#period > 0) this.#until.set(instanceId, this.#now() + this.#period)
  }

  /** Whether `instanceId` is being skipped; an expired entry is dropped on the way. */
  cooling (instanceId: string): boolean {
    if (this.#until.size === 0) return false
    const until = this.#until.get(instanceId)
    if (until === undefined) return false
    if (until > this.#now()) return true
    this.#until.delete(instanceId)
    return false
  }
}
