/** `delay` shortened by a random fraction of up to `jitter`: never later, only spread out. */
export function jittered (delay: number, jitter: number, random: () => number = Math.random): number {
  return Math.round(delay * (1 - jitter * random()))
}

/** The wait before retry number `attempt` (1, 2, …): doubling from `initialDelay`, capped at `maxDelay`. */
export function backoff (attempt: number, initialDelay: number, maxDelay: number, jitter: number, random?: () => number): number {
  const delay = Math.min(maxDelay, initialDelay * 2 ** Math.max(0, attempt - 1))
  return jittered(delay, jitter, random)
}

export function checkDelay (name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`luna-client: ${name} must be a positive number of milliseconds, got ${value}`)
  return value
}

export function checkJitter (value: number): number {
  if (!(value >= 0 && value < 1)) throw new TypeError(`luna-client: jitter must be a number from 0 up to (not including) 1, got ${value}`)
  return value
}
