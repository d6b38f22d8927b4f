import { createHash, timingSafeEqual } from 'node:crypto'
import basicAuth from '@fastify/basic-auth'
import type { FastifyInstance } from 'fastify'
import { UnauthorizedError } from './errors.js'
import type { LunaAuthOptions } from './options.js'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

export const AUTHENTICATE_HEADER = 'Basic realm="Luna"'

/**
 * Basic auth on every route of `scope`. Both sides are compared as SHA-256 digests, so the
 * comparison takes the same time whatever the lengths, and the configured secret is hashed once.
 * Credentials are decoded as UTF-8; the challenge (`AUTHENTICATE_HEADER`) is added by the
 * scope's error handler, so it reads exactly `Basic realm="Luna"` on every 401. A 401 closes
 * the connection.
 */
export async function protect (scope: FastifyInstance, credentials: Required<LunaAuthOptions>): Promise<void> {
  const username = digest(credentials.username)
  const password = digest(credentials.password)
  await scope.register(basicAuth, {
    authenticate: false,
    async validate (givenUsername, givenPassword) {
      const userOk = timingSafeEqual(digest(givenUsername), username)
      const passwordOk = timingSafeEqual(digest(givenPassword), password)
      if (!(userOk && passwordOk)) throw new UnauthorizedError()
    }
  })
  // Clients send the same header on every request: when it is exactly the expected one, the
  // parse and the two digests are skipped. The comparison looks at every character whatever
  // differs and allocates nothing; only the header's length, public in the protocol, shows.
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  scope.addHook('onRequest', (request, reply, done) => {
    const header = request.headers.authorization
    if (header !== undefined && sameText(header, expected)) return done()
    scope.basicAuth(request, reply, (error) => {
      // A refused request's body is not waited for: a client that announces one and never sends
      // it would otherwise hold the connection open after its 401, for as long as it likes.
      if (error !== undefined) reply.header('connection', 'close')
      done(error)
    })
  })
}

/** Whether `given` equals `expected`, in a time that depends only on their lengths. */
export function sameText (given: string, expected: string): boolean {
  if (given.length !== expected.length) return false
  let difference = 0
  for (let i = 0; i < expected.length; i++) difference |= given.charCodeAt(i) ^ expected.charCodeAt(i)
  return difference === 0
}
