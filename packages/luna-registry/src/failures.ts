import { LruMap } from 'toad-cache'

/** The failed authentications of one client address in its current window. */
export interface FailureCount {
  count: number
  /** Milliseconds until the window ends and the count starts again from 0; 0 when there is none. */
  resetIn: number
}

/**
 * Where failed authentications are counted, per client address, in fixed windows that open with
 * an address's first failure: in memory by default; a shared store (Redis) makes replicas count
 * together. The shape of `@fastify/rate-limit`'s stores, counting failures only.
 */
export interface AuthFailureStore {
  /** The failures of `key` in its current window. */
  get: (key: string) => Promise<FailureCount>
  /** Counts one failure of `key`; the first one opens a window of `window` milliseconds. */
  add: (key: string, window: number) => Promise<FailureCount>
}

/** Addresses remembered at most: beyond it, the longest quiet one is forgotten. */
const MAX_ADDRESSES = 10_000

interface Window { count: number, end: number }

/** Failures counted in this process, on the registry's clock; bounded in the addresses it keeps. */
export class MemoryFailureStore implements AuthFailureStore {
  readonly #windows = new LruMap<Window>(MAX_ADDRESSES)
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async get (key: string): Promise<FailureCount> {
    const window = this.#current(key)
    return window === undefined ? { count: 0, resetIn: 0 } : { count: window.count, resetIn: window.end - this.#now() }
  }

  async add (key: string, window: number): Promise<FailureCount> {
    const now = this.#now()
    const current = this.#current(key) ?? { count: 0, end: now + window }
    current.count++
    this.#windows.set(key, current)
    return { count: current.count, resetIn: current.end - now }
  }

  #current (key: string): Window | undefined {
    const window = this.#windows.get(key)
    if (window === undefined || window.end > this.#now()) return window
    this.#windows.delete(key)
    return undefined
  }
}
