import { formatDuration } from './duration.js'
import type { ProtectionState } from './store.js'

/** Fewer timeouts than this never turn protection on: one timeout in a registry of two is no outage. */
export const PROTECTION_MINIMUM = 5

export interface ProtectionRules {
  /** The share of instances that must time out together; `0` never turns protection on. */
  threshold: number
  /** How long protection may stay on. */
  maxDuration: number
  /** How close together the timeouts must be: the heartbeat timeout. */
  window: number
}

/** Instances that timed out and are still DOWN, of those that were OK or timed out. */
export interface TimeoutShare {
  timedOut: number
  of: number
}

/** A change of the state, and why, in words. */
export interface ProtectionChange {
  state: ProtectionState
  why: string
}

export const PROTECTION_OFF: ProtectionState = Object.freeze({ active: false, version: 0 })

/**
 * Timeouts at or before this moment no longer count: older than the window; while protection is
 * on, older than the window before it turned on; and never those before it was last ended.
 */
export function windowStart (state: ProtectionState, now: number, rules: ProtectionRules): number {
  if (state.active) return state.since! - rules.window
  return Math.max(now - rules.window, state.endedAt ?? -Infinity)
}

/** Whether `recent` timeouts are worth counting the registry for. */
export function worthCounting (state: ProtectionState, recent: number, rules: ProtectionRules): boolean {
  return state.active || (rules.threshold > 0 && recent >= PROTECTION_MINIMUM)
}

function percent (share: TimeoutShare): string {
  return `${share.timedOut} of ${share.of} instances (${Math.round(100 * share.timedOut / Math.max(1, share.of))}%)`
}

function off (state: ProtectionState, ended: number | undefined): ProtectionState {
  const endedAt = ended ?? state.endedAt
  return endedAt === undefined ? { active: false, version: state.version + 1 } : { active: false, version: state.version + 1, endedAt }
}

/**
 * The state after a sweep at `now`, or `undefined` when it stays. On when more than the threshold
 * of the instances timed out within the window (and at least `PROTECTION_MINIMUM`); off when the
 * share falls back to the threshold or below, or after `maxDuration`.
 */
export function nextProtection (state: ProtectionState, now: number, share: TimeoutShare | undefined, rules: ProtectionRules): ProtectionChange | undefined {
  if (state.active) {
    if (now - state.since! >= rules.maxDuration) {
      return { state: off(state, now), why: `it was on for protectionMaxDuration (${formatDuration(rules.maxDuration)}); timed-out instances are evicted again` }
    }
    if (share !== undefined && share.timedOut <= rules.threshold * share.of) {
      return { state: off(state, undefined), why: `instances are back: ${percent(share)} still timed out` }
    }
    return undefined
  }
  if (share === undefined || rules.threshold === 0 || share.timedOut < PROTECTION_MINIMUM || share.timedOut <= rules.threshold * share.of) return undefined
  const reason = `${percent(share)} missed their heartbeat within ${formatDuration(rules.window)}, more than the ${Math.round(rules.threshold * 100)}% threshold: nothing is evicted until they are back`
  return {
    state: { active: true, version: state.version + 1, since: now, reason, timedOut: share.timedOut, of: share.of, ...(state.endedAt === undefined ? {} : { endedAt: state.endedAt }) },
    why: reason
  }
}

/** Ended by an operator at `now`: the timeouts that turned it on no longer count. */
export function endedProtection (state: ProtectionState, now: number): ProtectionChange {
  return { state: off(state, now), why: 'an operator ended it; timed-out instances are evicted again' }
}
