import type { FastifyBodyParser, FastifyRequest } from 'fastify'
import { BodyTooDeepError } from './errors.js'
import { FIELD_MAX_DEPTH } from './schemas.js'
import { tooDeepField } from './validation.js'

type Done = (error: Error | null, body?: unknown) => void

/**
 * Fastify's JSON parser (`getDefaultJsonParser`), and then the depth of every field checked: the
 * parse itself is iterative, but nothing that walks a body afterwards is, from the host app's
 * hooks to Ajv and `JSON.stringify`, so a body nested too deep stops here.
 */
export function checkedJsonParser (parseJson: FastifyBodyParser<string>): (request: FastifyRequest, text: string, done: Done) => void {
  return (request, text, done) => {
    parseJson(request, text, (error, body) => {
      if (error !== null) return done(error)
      const field = tooDeepField(body, FIELD_MAX_DEPTH)
      if (field !== undefined) return done(new BodyTooDeepError(`body${field}`, FIELD_MAX_DEPTH))
      done(null, body)
    })
  }
}
