import type { ErrorObject } from 'ajv'
import { Ajv } from 'ajv'
import { BodyTooDeepError, InvalidInstanceInfoError } from './errors.js'
import { memo } from './memo.js'
import { SERVICE_PATH_PATTERN, SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from './instance-id.js'
import { FIELD_MAX_DEPTH, InstanceInfoSchema, type InstanceInfo } from './schemas.js'

/** An absolute `http:` or `https:` URL with a host. */
export const isHttpUrl = memo((value: string): boolean => {
  if (!/^https?:\/\//i.test(value)) return false
  try {
    return new URL(value).host !== ''
  } catch {
    return false
  }
})

/**
 * Whether `value` nests objects and arrays at most `limit` levels deep. The recursion stops at
 * `limit`, so however deep a body nests, the stack grows by `limit` frames at most; it allocates
 * nothing, which a walk level by level does for every level of every body.
 */
export function depthWithin (value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return true
  if (Array.isArray(value)) {
    if (limit === 0) return value.length === 0
    for (let i = 0; i < value.length; i++) if (!depthWithin(value[i], limit - 1)) return false
    return true
  }
  // A parsed body's objects have only their own keys.
  for (const key in value) {
    if (limit === 0 || !depthWithin((value as Record<string, unknown>)[key], limit - 1)) return false
  }
  return true
}

/**
 * The path (a JSON Pointer) of the first field of `body` (or item, when it is an array, which the
 * schema then refuses) that nests objects or arrays more than `limit` levels deep, or `undefined`.
 */
export function tooDeepField (body: unknown, limit: number): string | undefined {
  if (body === null || typeof body !== 'object') return undefined
  for (const key in body) {
    if (!depthWithin((body as Record<string, unknown>)[key], limit)) return '/' + key.replaceAll('~', '~0').replaceAll('/', '~1')
  }
  return undefined
}

// Our own Ajv, whatever the host app configured: no type coercion (`"version": 1` is a client
// mistake, not a string), defaults applied, the registry's formats known.
const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
ajv.addFormat('http-url', isHttpUrl)
/** The registry's Ajv for bodies, for the routes' validator to compile their schemas with. */
export const bodyAjv = ajv

/** A key that `propertyNames` refused, short enough to quote. */
function describeKey (error: ErrorObject, key: string): string {
  if (error.keyword === 'minLength' && (error.params as Record<string, unknown>)['limit'] === 1) return `${error.instancePath} keys must not be empty`
  const shown = key.length > 32 ? `${JSON.stringify(key.slice(0, 32))}…` : JSON.stringify(key)
  return `${error.instancePath} key ${shown} ${error.message ?? 'is invalid'}`
}

function describeError (error: ErrorObject): string {
  if (error.propertyName !== undefined) return describeKey(error, error.propertyName)
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return `${error.instancePath}/${String(params['missingProperty'])} is required`
    case 'enum':
      return `${error.instancePath} must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    case 'format':
      return params['format'] === 'http-url'
        ? `${error.instancePath} must be an absolute http: or https: URL`
        : `${error.instancePath} must match format "${String(params['format'])}"`
    case 'pattern':
      return params['pattern'] === SERVICE_NAME_PATTERN || params['pattern'] === SERVICE_PATH_PATTERN
        ? `${error.instancePath} must be a service name: ${SERVICE_NAME_RULE}${params['pattern'] === SERVICE_PATH_PATTERN ? ' (optionally followed by /pick)' : ''}`
        : `${error.instancePath} ${error.message ?? 'is invalid'}`
    case 'minLength':
      return params['limit'] === 1
        ? `${error.instancePath} must not be empty`
        : `${error.instancePath} ${error.message ?? 'is too short'}`
    default:
      return `${error.instancePath} ${error.message ?? 'is invalid'}`
  }
}

/** `body/status must be one of "OK", "DOWN"`: the part (`dataVar`), the field and the rule. */
export function describeErrors (errors: readonly ErrorObject[], dataVar: string): string {
  return errors
    // Ajv follows the error of a key with one that only says a key was refused.
    .filter((error) => error.keyword !== 'propertyNames')
    .map((error) => `${dataVar}${describeError(error)}`).join('; ')
}

/**
 * Infos known to pass the body schema: those this module checked, and the bodies the routes'
 * validator passed. They are frozen all the way down, so they stay what was checked.
 */
const checked = new WeakSet<object>()

/**
 * Freezes `value` and everything it holds (a parsed JSON body: plain objects and arrays), without
 * recursing: however deep it nests, the stack does not grow.
 */
function deepFreeze (value: unknown): void {
  // Most heartbeats bring a remembered info, frozen already: nothing is allocated for them.
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return
  const pending: object[] = [value]
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    Object.freeze(item)
    for (const child of Object.values(item)) {
      if (child !== null && typeof child === 'object' && !Object.isFrozen(child)) pending.push(child as object)
    }
  }
}

/** After `info` passed the body schema, as a route's body (its own, so frozen where it is). */
export function passed (info: object): void {
  deepFreeze(info)
  checked.add(info)
}

/** Whether `info` is known to pass the body schema (and is frozen). */
export function isChecked (info: unknown): boolean {
  return typeof info === 'object' && info !== null && checked.has(info)
}

const checkInstanceInfo = ajv.compile(InstanceInfoSchema)

/**
 * `info` checked by the same rules as a POST or PUT body, with the same messages, and frozen: the
 * info itself when it is known to have passed (a route's body), else a frozen copy, so the
 * caller's object is never changed and what the store keeps never changes under it.
 */
export function checkedInfo (info: unknown): Readonly<InstanceInfo> {
  if (isChecked(info)) return info as InstanceInfo
  const field = tooDeepField(info, FIELD_MAX_DEPTH)
  if (field !== undefined) throw new InvalidInstanceInfoError(field, new BodyTooDeepError('', FIELD_MAX_DEPTH).message.trimStart())
  if (!checkInstanceInfo(info)) {
    // `/status must be one of …`: the field's path, then its rule.
    const described = describeErrors(checkInstanceInfo.errors ?? [], '')
    const space = described.indexOf(' ')
    throw new InvalidInstanceInfoError(described.slice(0, space), described.slice(space + 1))
  }
  const copy = structuredClone(info)
  passed(copy)
  return copy
}
