import type { Cluster, Redis } from 'ioredis'
import type { Fields } from './records.js'

// Lua, so that every write is one atomic round trip. An instance is a hash with its info as JSON
// beside the fields the scripts need (status, times). The JSON is cut into pieces of at most
// CHUNK bytes (`j1`, `j2`, …, their number in `jn`): with every value that short, and a few dozen
// fields at most, Redis keeps the hash in its compact listpack encoding (hash-max-listpack-value
// is 64 by default), where one long value would make it a hash table of about half as much again.
// It lives in one of the buckets of
// keys.ts, beside the bucket's indexes: the set of its ids, a set per service, and two sorted sets
// scored by last heartbeat: `live` (not yet announced as timed out) and `timedout` (announced,
// waiting for a heartbeat or eviction). Every script is given every key it touches, all of one
// bucket, so that on a Redis Cluster each runs on the one master that holds the bucket's slot.
// Finding what a claim or an eviction touches is a read made just before, which the script
// checks again, atomically, before it moves anything.

/** The bytes of JSON in one field of an instance's hash. */
export const CHUNK = 64

/**
 * Lua helpers the scripts begin with: the JSON read back from its pieces, an instance's fields as
 * the store reads them (json, registeredAt, lastHeartbeat, rds; all false when it does not
 * exist), and the JSON written in pieces, dropping the pieces of a longer one it replaces.
 */
const HELPERS = `
local function readJson(key, n)
  local names = {}
  for i = 1, tonumber(n) do names[i] = 'j' .. i end
  return table.concat(redis.call('HMGET', key, unpack(names)))
end
local function fields(key)
  local f = redis.call('HMGET', key, 'jn', 'registeredAt', 'lastHeartbeat', 'rds')
  if not f[1] then return { false, false, false, false } end
  return { readJson(key, f[1]), f[2], f[3], f[4] }
end
local function writeJson(key, json, before)
  local n = math.max(1, math.ceil(#json / ${CHUNK}))
  local args = { 'jn', n }
  for i = 1, n do
    args[#args + 1] = 'j' .. i
    args[#args + 1] = string.sub(json, (i - 1) * ${CHUNK} + 1, i * ${CHUNK})
  end
  redis.call('HSET', key, unpack(args))
  for i = n + 1, tonumber(before or 0) do redis.call('HDEL', key, 'j' .. i) end
end
`

/**
 * KEYS: instance, ids, service set, live, timedout.
 * ARGV: id, json, status, registeredAt, lastHeartbeat, reportedDownSince or ''.
 * Returns the previous record's fields (or nil) and whether it had timed out.
 */
export const REGISTER = `${HELPERS}
local previous = fields(KEYS[1])
local timedOut = redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'registeredAt', ARGV[4], 'lastHeartbeat', ARGV[5])
writeJson(KEYS[1], ARGV[2])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'rds', ARGV[6]) end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
if previous[1] then return { previous, timedOut } end
return { false, timedOut }
`

/**
 * Heartbeats, several in one call, each as atomic as the whole.
 * KEYS: three per heartbeat: its instance, and the live and timedout sets of its bucket (on a
 * cluster, the caller sends one bucket's heartbeats per call).
 * ARGV: five per heartbeat: id, json, status, lastHeartbeat, reportedDownSince or ''.
 * For each, in order: false when the instance does not exist (nothing happens), else the
 * previous fields, whether it had timed out, and the reportedDownSince it now has. Most
 * heartbeats repeat the info: then it is neither written again nor sent back, and the previous
 * fields carry '' (never a JSON text) in its place.
 */
export const HEARTBEATS = `${HELPERS}
local out = {}
for h = 1, #KEYS / 3 do
  local key, live, timedOutSet = KEYS[3 * h - 2], KEYS[3 * h - 1], KEYS[3 * h]
  local a = (h - 1) * 5
  local id, json, status, lastHeartbeat = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local previous = redis.call('HMGET', key, 'jn', 'registeredAt', 'lastHeartbeat', 'rds', 'status')
  if not previous[1] then
    out[#out + 1] = false
  else
    local rds = ARGV[a + 5]
    if status == 'DOWN' and previous[5] == 'DOWN' and previous[4] then rds = previous[4] end
    local info = readJson(key, previous[1])
    if info == json then
      info = ''
      redis.call('HSET', key, 'lastHeartbeat', lastHeartbeat)
    else
      redis.call('HSET', key, 'status', status, 'lastHeartbeat', lastHeartbeat)
      writeJson(key, json, previous[1])
    end
    if rds ~= '' then redis.call('HSET', key, 'rds', rds) elseif previous[4] then redis.call('HDEL', key, 'rds') end
    local timedOut = redis.call('ZREM', timedOutSet, id)
    redis.call('ZADD', live, lastHeartbeat, id)
    out[#out + 1] = { { info, previous[2], previous[3], previous[4] }, timedOut, rds }
  end
end
return out
`

/** KEYS: instance, ids, service set, live, timedout. ARGV: id. Returns 1 if removed. */
export const REMOVE = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
`

/** KEYS: instance hashes. Returns the fields of each, in order (a vanished one's are nil). */
export const READ = `${HELPERS}
local out = {}
for i = 1, #KEYS do
  out[i] = fields(KEYS[i])
end
return out
`

/**
 * KEYS: live, timedout, then the instance hash of each id. ARGV: before, then the ids, read
 * from live by the caller a moment ago.
 * Moves each id still scored at or before `before` from live to timedout; returns them with
 * their fields. Atomic, so each is handed to exactly one caller.
 */
export const CLAIM = `${HELPERS}
local before = tonumber(ARGV[1])
local out = {}
for i = 3, #KEYS do
  local id = ARGV[i - 1]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= before then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], score, id)
    out[#out + 1] = id
    out[#out + 1] = fields(KEYS[i])
  end
end
return out
`

/**
 * KEYS: timedout, live, ids, then two per id: its instance hash and its service set.
 * ARGV: before, then the ids, read from timedout by the caller a moment ago.
 * Removes each instance still announced as timed out and scored at or before `before`;
 * returns them with their fields.
 */
export const EVICT = `${HELPERS}
local before = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= before then
    local key = KEYS[2 * i]
    local found = fields(key)
    redis.call('ZREM', KEYS[1], id)
    if found[1] then
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[2], id)
      redis.call('SREM', KEYS[3], id)
      redis.call('SREM', KEYS[2 * i + 1], id)
      out[#out + 1] = id
      out[#out + 1] = found
    end
  end
end
return out
`

/**
 * The marker of the registry's keys: written once, read ever after. A different value, or one
 * written anew, means the keys were lost (a flush, or a restart without them) since it was read.
 * KEYS: marker. ARGV: the value to write if it is missing. Returns the value it holds.
 */
export const MARKER = `
local value = redis.call('GET', KEYS[1])
if value then return value end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`

/** A heartbeat's reply: the previous fields, whether it had timed out, its reportedDownSince now. */
export type HeartbeatReply = [Fields, number, string]

/** The scripts as commands of a connection, each taking its keys, then its arguments. */
export interface Scripts {
  lunaRegister: (...args: Array<string | number>) => Promise<[Fields | null, number]>
  lunaHeartbeats: (...args: Array<string | number>) => Promise<Array<HeartbeatReply | null>>
  lunaRemove: (...args: Array<string | number>) => Promise<number>
  lunaRead: (...args: Array<string | number>) => Promise<Fields[]>
  lunaClaim: (...args: Array<string | number>) => Promise<Array<string | Fields>>
  lunaEvict: (...args: Array<string | number>) => Promise<Array<string | Fields>>
  lunaMarker: (...args: Array<string | number>) => Promise<string>
}

/** `redis`, with the scripts defined on it as commands. */
export function defineScripts<R extends Redis | Cluster> (redis: R): R & Scripts {
  redis.defineCommand('lunaRegister', { numberOfKeys: 5, lua: REGISTER })
  // The number of keys comes first in each call: one per heartbeat of the batch, and two more.
  redis.defineCommand('lunaHeartbeats', { lua: HEARTBEATS })
  redis.defineCommand('lunaRemove', { numberOfKeys: 5, lua: REMOVE })
  // As for heartbeats, the number of keys comes first in each call of these.
  redis.defineCommand('lunaRead', { lua: READ })
  redis.defineCommand('lunaClaim', { lua: CLAIM })
  redis.defineCommand('lunaEvict', { lua: EVICT })
  redis.defineCommand('lunaMarker', { numberOfKeys: 1, lua: MARKER })
  return redis as R & Scripts
}
