import { createHash, timingSafeEqual } from 'node:crypto'
import basicAuth from '@fastify/basic-auth'
import type { FastifyInstance } from 'fastify'
import { UnauthorizedError } from './errors.js'
import type { LunaGatewayAuth } from './options.js'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/**
 * Basic auth on every route of `scope`, as the registry checks it: both sides compared as
 * SHA-256 digests, in constant time, and the same `Basic realm="Luna"` challenge.
 */
export async function protect (scope: FastifyInstance, credentials: Required<LunaGatewayAuth>): Promise<void> {
  const username = digest(credentials.username)
  const password = digest(credentials.password)
  await scope.register(basicAuth, {
    authenticate: { realm: 'Luna' },
    async validate (givenUsername, givenPassword) {
      const userOk = timingSafeEqual(digest(givenUsername), username)
      const passwordOk = timingSafeEqual(digest(givenPassword), password)
      if (!(userOk && passwordOk)) throw new UnauthorizedError()
    }
  })
  scope.addHook('onRequest', scope.basicAuth)
}
