const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/

/**
 * Milliseconds from a number of milliseconds or a string such as `500`, `500ms`, `30s`, `2m`,
 * `1h` or `1d`. Returns `undefined` for anything else, so callers can say which setting is wrong.
 */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? value : undefined
  }
  if (typeof value !== 'string') return undefined
  const match = DURATION.exec(value.trim())
  if (match === null) return undefined
  const ms = Number(match[1]) * UNITS[match[2] ?? 'ms']!
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined
}

/** `1500` → `1.5s`, `30000` → `30s`, `120000` → `2m`: the shortest exact way to write it. */
export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}

/** How a wrong option value is named in its error: strings quoted, objects by their kind. */
export function describeValue (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/**
 * A duration option in milliseconds: `fallback` when it is not given, and otherwise what
 * `parseDuration` reads, refused through `fail` (which names the option) when it is not a
 * duration or has the wrong sign. The same rule and message for every Luna plugin's options.
 */
export function durationOption (
  option: string,
  value: unknown,
  fallback: number,
  sign: 'positive' | 'zero or positive',
  fail: (option: string, problem: string) => never
): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value)
  if (ms === undefined || (sign === 'positive' && ms <= 0)) {
    fail(option, `must be a ${sign} number of milliseconds or a duration such as "30s", got ${describeValue(value)}`)
  }
  return ms
}
