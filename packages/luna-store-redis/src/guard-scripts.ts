import type { Cluster, Redis } from 'ioredis'

// The guards' state, apart from the instances' keys: each script reads and writes one key, and
// the keys share a hash tag of their own.

/** KEYS: the sweep mark. ARGV: now. Moves the mark forward to now; returns the mark it had, or nil. */
export const MARK_SWEPT = `
local previous = redis.call('GET', KEYS[1])
if not previous or tonumber(previous) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return previous
`

/**
 * KEYS: the recent timeouts, ids scored by time. ARGV: keepAfter ('-inf' for none), then an id
 * and a time per timeout. Keeps each id's latest time, forgets those at or before keepAfter;
 * returns every id and time kept.
 */
export const NOTE_TIMEOUTS = `
for i = 2, #ARGV, 2 do
  local at = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not at or tonumber(at) < tonumber(ARGV[i + 1]) then redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`

/**
 * KEYS: the protection state, as JSON. ARGV: the version expected, the next state's JSON.
 * Returns whether it was replaced, and the state's JSON now ('' before any).
 */
export const SWAP_PROTECTION = `
local stored = redis.call('GET', KEYS[1])
local version = 0
if stored then version = cjson.decode(stored).version end
if version == tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2])
  return { 1, ARGV[2] }
end
return { 0, stored or '' }
`

export interface GuardScripts {
  lunaMarkSwept: (key: string, now: number) => Promise<string | null>
  lunaNoteTimeouts: (key: string, ...args: Array<string | number>) => Promise<string[]>
  lunaSwapProtection: (key: string, expected: number, next: string) => Promise<[number, string]>
}

export function defineGuardScripts<R extends Redis | Cluster> (redis: R): R & GuardScripts {
  redis.defineCommand('lunaMarkSwept', { numberOfKeys: 1, lua: MARK_SWEPT })
  redis.defineCommand('lunaNoteTimeouts', { numberOfKeys: 1, lua: NOTE_TIMEOUTS })
  redis.defineCommand('lunaSwapProtection', { numberOfKeys: 1, lua: SWAP_PROTECTION })
  return redis as R & GuardScripts
}
