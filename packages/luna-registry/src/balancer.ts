/**
 * The balancers shared by the registry's `pick` and the gateway: each chooses one instance of a
 * service among candidates, keeping what it needs per service. Candidates whose weight is not
 * above 0 are never chosen, whatever the kind. Pure: no Fastify, no I/O, no clock.
 */

export const BALANCER_KINDS = ['weighted-round-robin', 'round-robin', 'random', 'first'] as const
export type BalancerKind = typeof BALANCER_KINDS[number]

export interface BalancerCandidate {
  readonly instanceId: string
  /** Above 0 to be chosen; the weighted kinds share traffic in proportion to it. */
  readonly weight: number
}

export interface Balancer {
  readonly kind: BalancerKind
  /**
   * One of `candidates`, or `undefined` when none has a weight above 0. What is kept for
   * `service` follows the candidates given: an instance missing from them is forgotten.
   */
  pick: <T extends BalancerCandidate>(service: string, candidates: readonly T[]) => T | undefined
  /** Drops what is kept for `service` (it has no instances left). */
  forget: (service: string) => void
}

export interface CreateBalancerOptions {
  /** For `random`: a number in [0, 1). Default `Math.random`. */
  random?: () => number
}

// Names are compared without case, dashes, underscores or spaces: `WeightedRoundRobin`,
// `weighted-round-robin` and `WEIGHTED_ROUND_ROBIN` are one. `None` is the original's name for
// "the first OK instance".
const NAMES = new Map<string, BalancerKind>([
  ['weightedroundrobin', 'weighted-round-robin'],
  ['roundrobin', 'round-robin'],
  ['random', 'random'],
  ['first', 'first'],
  ['none', 'first']
])

/** The kind a name stands for (`RoundRobin`, `round-robin`, `None`, …), or `undefined`. */
export function balancerKind (name: string): BalancerKind | undefined {
  return NAMES.get(name.toLowerCase().replace(/[-_\s]/g, ''))
}

/**
 * Smooth weighted round-robin (nginx's): every pick adds each candidate's weight to its current
 * value, takes the highest and subtracts the total from it. Over any run of picks each share
 * follows its weight exactly, and a heavy instance is not picked in bursts.
 */
function smoothWeightedRoundRobin (): Balancer {
  /** Service → instance id → current value. */
  const rotations = new Map<string, Map<string, number>>()
  return {
    kind: 'weighted-round-robin',
    pick (service, candidates) {
      const rotation = rotations.get(service)
      const next = new Map<string, number>()
      let total = 0
      let best: (typeof candidates)[number] | undefined
      let bestValue = -Infinity
      for (const candidate of candidates) {
        const weight = candidate.weight
        if (!(weight > 0)) continue
        const value = (rotation?.get(candidate.instanceId) ?? 0) + weight
        next.set(candidate.instanceId, value)
        total += weight
        if (value > bestValue) {
          best = candidate
          bestValue = value
        }
      }
      if (best === undefined) return undefined
      next.set(best.instanceId, bestValue - total)
      // Instances that left the rotation leave no stale value behind.
      rotations.set(service, next)
      return best
    },
    forget (service) { rotations.delete(service) }
  }
}

/**
 * Each instance in turn, by instance id, whatever the weights. Only the last id picked is kept:
 * the next pick is the first id after it, so instances coming and going never skew the turn.
 */
function roundRobin (): Balancer {
  const last = new Map<string, string>()
  return {
    kind: 'round-robin',
    pick (service, candidates) {
      const previous = last.get(service)
      let lowest: (typeof candidates)[number] | undefined
      let after: (typeof candidates)[number] | undefined
      for (const candidate of candidates) {
        if (!(candidate.weight > 0)) continue
        const id = candidate.instanceId
        if (lowest === undefined || id < lowest.instanceId) lowest = candidate
        if (previous !== undefined && id > previous && (after === undefined || id < after.instanceId)) after = candidate
      }
      const chosen = after ?? lowest
      if (chosen !== undefined) last.set(service, chosen.instanceId)
      return chosen
    },
    forget (service) { last.delete(service) }
  }
}

/** Independent draws, each instance with a probability in proportion to its weight. */
function weightedRandom (random: () => number): Balancer {
  return {
    kind: 'random',
    pick (_service, candidates) {
      let total = 0
      for (const candidate of candidates) if (candidate.weight > 0) total += candidate.weight
      if (total === 0) return undefined
      let point = random() * total
      let chosen: (typeof candidates)[number] | undefined
      for (const candidate of candidates) {
        if (!(candidate.weight > 0)) continue
        chosen = candidate
        point -= candidate.weight
        if (point < 0) break
      }
      return chosen
    },
    forget () {}
  }
}

/** The first candidate, in the order given, with a weight above 0; keeps nothing. */
function first (): Balancer {
  return {
    kind: 'first',
    pick (_service, candidates) {
      for (const candidate of candidates) if (candidate.weight > 0) return candidate
      return undefined
    },
    forget () {}
  }
}

/** A balancer of `kind`, with state of its own. */
export function createBalancer (kind: BalancerKind = 'weighted-round-robin', options: CreateBalancerOptions = {}): Balancer {
  switch (kind) {
    case 'weighted-round-robin': return smoothWeightedRoundRobin()
    case 'round-robin': return roundRobin()
    case 'random': return weightedRandom(options.random ?? Math.random)
    case 'first': return first()
    default: throw new TypeError(`luna-registry: unknown balancer kind ${JSON.stringify(kind)}; expected one of ${BALANCER_KINDS.join(', ')}`)
  }
}
