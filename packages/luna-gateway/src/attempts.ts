import type { Balancer } from 'luna-registry'
import type { CoolDown } from './cool-down.js'
import type { Routable } from './routing-table.js'

/** How an attempt to reach an instance failed. */
export type Failure =
  /** No connection: refused, unreachable, not resolved, or not within the connect timeout. Nothing was sent. */
  | 'connect'
  /** The connection broke before any response byte. */
  | 'reset'
  /** No response headers within the timeout. */
  | 'timeout'
  | 'other'

const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT'])

function codeOf (error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return code
  // Several addresses tried in turn (Happy Eyeballs) fail as one AggregateError.
  if (error instanceof AggregateError) return codeOf(error.errors[0])
  return undefined
}

export function classify (error: unknown): Failure {
  const code = codeOf(error)
  if (code === undefined) return 'other'
  if (CONNECT.has(code)) return 'connect'
  if (RESET.has(code)) return 'reset'
  if (TIMEOUT.has(code)) return 'timeout'
  return 'other'
}

/**
 * The instances one request tries, in the balancer's order: each new attempt goes to an instance
 * not tried yet and not cooling down. When every instance is cooling down, the first attempt
 * tries them anyway: refusing without trying would turn a restart into errors for the whole
 * cool-down.
 */
export class Attempts {
  readonly #service: string
  readonly #candidates: readonly Routable[]
  readonly #balancer: Balancer
  readonly #coolDown: CoolDown
  readonly #max: number
  readonly #tried = new Set<string>()
  #count = 0

  constructor (service: string, candidates: readonly Routable[], balancer: Balancer, coolDown: CoolDown, max: number) {
    this.#service = service
    this.#candidates = candidates
    this.#balancer = balancer
    this.#coolDown = coolDown
    this.#max = max
  }

  /**
   * The next instance, or `undefined` when the attempts are used up or no instance is left.
   * `again`: the same instance may be tried again (its connection broke, it did not refuse).
   */
  next (again = false): Routable | undefined {
    if (this.#count >= this.#max) return undefined
    const chosen = this.#balancer.pick(this.#service, this.#pool(again))
    if (chosen !== undefined) {
      this.#count++
      this.#tried.add(chosen.instanceId)
    }
    return chosen
  }

  #pool (again: boolean): readonly Routable[] {
    const coolDown = this.#coolDown
    // The common case, allocating nothing: a first attempt with no instance cooling down.
    if (this.#count === 0 && !this.#candidates.some((candidate) => coolDown.cooling(candidate.instanceId))) return this.#candidates
    const warm = this.#candidates.filter((candidate) => !coolDown.cooling(candidate.instanceId))
    if (this.#count === 0) return warm.length > 0 ? warm : this.#candidates
    const untried = warm.filter((candidate) => !this.#tried.has(candidate.instanceId))
    return untried.length > 0 || !again ? untried : warm
  }
}
