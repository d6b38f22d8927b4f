import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import basicAuth from '@fastify/basic-auth'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LruMap } from 'toad-cache'
import { grant, patternProblem, refusal, ROLES, type Grant, type LunaAccess, type LunaRole } from './access.js'
import { ForbiddenError, TooManyFailuresError, UnauthorizedError } from './errors.js'
import type { AuthCheck, AuthSettings } from './options.js'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

export const AUTHENTICATE_HEADER = 'Basic realm="Luna"'

/** The window in which an address's failed authentications are counted. */
export const FAILURE_WINDOW = 60_000

/** `Authorization` headers remembered as verified: a client sends the same one every time. */
const VERIFIED_HEADERS = 1000

/** Each request's grant, once authenticated; the panel asks what to show. */
const grants = new WeakMap<FastifyRequest, Grant>()

/** The rights of the request's user; `undefined` when the registry checks no credentials. */
export function grantOf (request: FastifyRequest): Grant | undefined {
  return grants.get(request)
}

/** Whether `address` is a loopback one (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6). */
export function isLoopback (address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  if (isIP(v4) === 4) return v4.startsWith('127.')
  return address === '::1'
}

/**
 * Whether the request's user signed in with the seed's blank password on a server that listens
 * beyond this machine: the panel says so.
 */
export function blankPasswordExposed (request: FastifyRequest): boolean {
  return grants.get(request)?.blankPassword === true && request.server.addresses().some((address) => typeof address !== 'string' && !isLoopback(address.address))
}

/** The user's rights as `verify` returned them, checked: a function of the host app's may err. */
function grantFromVerify (username: string, access: LunaRole | LunaAccess | undefined): Grant | undefined {
  if (access === undefined) return undefined
  const given = typeof access === 'string' ? { role: access } : access
  if (!ROLES.includes(given?.role)) throw new TypeError(`luna-registry: auth.verify returned ${JSON.stringify(access)} for ${JSON.stringify(username)}: not one of ${ROLES.join(', ')}, { role, services } or undefined`)
  const bad = (given.services ?? []).find((pattern) => patternProblem(pattern) !== undefined)
  if (bad !== undefined) throw new TypeError(`luna-registry: auth.verify returned the service pattern ${JSON.stringify(bad)} for ${JSON.stringify(username)}: it ${patternProblem(bad)}`)
  return grant(username, given)
}

/** Checks a username and password against the configured users; `undefined` when they are wrong. */
function checker (check: AuthCheck, admin: Grant | undefined): (username: string, password: string, request: FastifyRequest) => Promise<Grant | undefined> {
  if (check.kind === 'users') return async (username, password) => await check.users.verify(username, password)
  if (check.kind === 'verify') return async (username, password, request) => grantFromVerify(username, await check.verify(username, password, request))
  // Both sides are compared as SHA-256 digests, so the comparison takes the same time whatever
  // the lengths, and the configured secret is hashed once.
  const username = digest(check.username)
  const password = digest(check.password)
  return async (givenUsername, givenPassword) => {
    const userOk = timingSafeEqual(digest(givenUsername), username)
    const passwordOk = timingSafeEqual(digest(givenPassword), password)
    return userOk && passwordOk ? admin : undefined
  }
}

/**
 * Basic auth and access control on every route of `scope`, before any body is read.
 *
 * - Credentials are decoded as UTF-8; the challenge (`AUTHENTICATE_HEADER`) is added by the
 *   scope's error handler, so it reads exactly `Basic realm="Luna"` on every 401.
 * - A verified `Authorization` header is remembered (by its digest, a bounded number of them), so
 *   a client that sends the same one on every heartbeat pays for scrypt once; a failure is never
 *   remembered, and a new users list forgets them all.
 * - Each failure counts against the client's address; past `maxFailures` in a window, the address
 *   gets 429 with `Retry-After` until the window ends, without its credentials being looked at.
 *   Remembered headers are let through: they were verified, so they guess nothing.
 * - An authenticated request outside its user's rights gets 403 (see `access.ts`).
 * - A refused request's body is not waited for, and its connection is closed: a client that
 *   announces one and never sends it would otherwise hold the connection open for as long as it likes.
 */
export async function protect (scope: FastifyInstance, settings: AuthSettings, prefix: string): Promise<void> {
  const { check, maxFailures, failureStore } = settings
  const admin = check.kind === 'credentials' ? grant(check.username, { role: 'admin' }, check.password === '') : undefined
  const verify = checker(check, admin)
  const verified = new LruMap<{ grant: Grant, generation: number }>(VERIFIED_HEADERS)
  // Requests that arrive together with the same new header (instances started at once with one
  // user's credentials) wait for one verification rather than each paying for its own.
  const verifying = new Map<string, Promise<Grant | undefined>>()
  const generation = (): number => check.kind === 'users' ? check.users.generation : 0
  // Only a users list is worth remembering: the one admin's header is compared as it comes, and
  // a function's answer may change from one call to the next, so it is asked every time.
  const remembers = check.kind === 'users'
  // The one admin's header, exactly as clients send it: compared character by character (see
  // `sameText`), it skips even the digest.
  const expected = check.kind === 'credentials' ? `Basic ${Buffer.from(`${check.username}:${check.password}`).toString('base64')}` : undefined

  const failed = async (request: FastifyRequest, username: string): Promise<void> => {
    if (maxFailures === 0) return
    const { count, resetIn } = await failureStore.add(request.ip, FAILURE_WINDOW)
    const log = { address: request.ip, username: username.slice(0, 64) }
    if (count === 1) request.log.warn(log, 'luna-registry: authentication failed; more failures from this address in the next minute are counted, not logged')
    if (count === maxFailures) request.log.warn({ ...log, failures: count, seconds: Math.ceil(resetIn / 1000) }, 'luna-registry: too many failed authentications; the address is refused until its window ends')
  }

  await scope.register(basicAuth, {
    authenticate: false,
    async validate (username, password, request) {
      const key = remembers ? digest(request.headers.authorization!).toString('base64') : ''
      // What is verified against one list is remembered for that list only.
      const list = generation()
      let found: Grant | undefined
      try {
        if (!remembers) found = await verify(username, password, request)
        else {
          let pending = verifying.get(`${list} ${key}`)
          if (pending === undefined) {
            pending = verify(username, password, request).finally(() => { verifying.delete(`${list} ${key}`) })
            verifying.set(`${list} ${key}`, pending)
          }
          found = await pending
        }
      } catch (error) {
        // Basic auth would make anything thrown here a 401: a failing user store is a fault.
        const fault = error instanceof Error ? error : new Error(String(error))
        throw Object.assign(fault, { statusCode: (fault as { statusCode?: number }).statusCode ?? 500 })
      }
      if (found === undefined) {
        await failed(request, username)
        throw new UnauthorizedError()
      }
      grants.set(request, found)
      if (remembers) verified.set(key, { grant: found, generation: list })
    }
  })

  /** The grant of a header seen before, found without any work worth the name; `undefined` otherwise. */
  const known = (header: string | undefined): Grant | undefined => {
    if (header === undefined) return undefined
    if (expected !== undefined) return sameText(header, expected) ? admin : undefined
    if (!remembers) return undefined
    const entry = verified.get(digest(header).toString('base64'))
    return entry !== undefined && entry.generation === generation() ? entry.grant : undefined
  }

  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.headers.authorization !== undefined && maxFailures > 0) {
      const { count, resetIn } = await failureStore.get(request.ip)
      if (count >= maxFailures) {
        const seconds = Math.max(1, Math.ceil(resetIn / 1000))
        reply.header('retry-after', String(seconds))
        throw new TooManyFailuresError(seconds)
      }
    }
    await new Promise<void>((resolve, reject) => {
      scope.basicAuth(request, reply, (error) => { error === undefined ? resolve() : reject(error) })
    })
  }

  const authorise = (request: FastifyRequest): void => {
    const why = refusal(grants.get(request)!, prefix, { method: request.method, route: request.routeOptions.url, params: request.params })
    if (why !== undefined) throw new ForbiddenError(why)
  }

  // A callback hook, so the common case (a header seen before) costs no promise.
  scope.addHook('onRequest', (request, reply, done) => {
    const refuse = (error: unknown): void => {
      reply.header('connection', 'close')
      done(error as Error)
    }
    const fast = known(request.headers.authorization)
    if (fast === undefined) {
      authenticate(request, reply).then(() => { authorise(request) }).then(() => { done() }, refuse)
      return
    }
    grants.set(request, fast)
    try {
      authorise(request)
    } catch (error) {
      return refuse(error)
    }
    done()
  })
}

/** Whether `given` equals `expected`, in a time that depends only on their lengths. */
export function sameText (given: string, expected: string): boolean {
  if (given.length !== expected.length) return false
  let difference = 0
  for (let i = 0; i < expected.length; i++) difference |= given.charCodeAt(i) ^ expected.charCodeAt(i)
  return difference === 0
}
