import { isUtf8 } from 'node:buffer'
import type { FastifyBodyParser, FastifyRequest } from 'fastify'
import { BodyTooDeepError, InvalidUtf8Error, UnsupportedCharsetError } from './errors.js'
import { FIELD_MAX_DEPTH } from './schemas.js'
import { tooDeepField } from './validation.js'

type Done = (error: Error | null, body?: unknown) => void

/** A body parser of the registry's: the bytes of a body, as Fastify read them, to its value. */
export type BodyParser = (request: FastifyRequest, bytes: Buffer, done: Done) => void

const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]*))/i
const UTF_8 = /^utf-?8$/i

/**
 * The bytes of a request's body, once what its headers say of them is known to be what the
 * registry reads: throws when `Content-Type` names a charset other than UTF-8 (a Latin-1 body
 * read as UTF-8 would be stored wrong, not refused).
 */
export function bodyBytes (request: FastifyRequest, raw: Buffer): Buffer {
  const type = request.headers['content-type']
  // Most clients send `application/json` alone: no parameters to look at.
  if (type !== undefined && type.includes(';')) {
    const match = CHARSET.exec(type)
    const charset = match?.[1] ?? match?.[2]
    if (charset !== undefined && !UTF_8.test(charset)) throw new UnsupportedCharsetError(charset)
  }
  return raw
}

/**
 * Fastify's JSON parser (`getDefaultJsonParser`) for the bytes of a body, which must be UTF-8
 * (Fastify's own decoding would replace an invalid sequence with U+FFFD and go on), and then
 * the depth of every field checked: the parse itself is iterative, but nothing that walks a body
 * afterwards is, from the host app's hooks to Ajv and `JSON.stringify`, so a body nested too deep
 * stops here.
 */
export function checkedJsonParser (parseJson: FastifyBodyParser<string>): BodyParser {
  return (request, bytes, done) => {
    if (!isUtf8(bytes)) return done(new InvalidUtf8Error())
    parseJson(request, bytes.toString('utf8'), (error, body) => {
      if (error !== null) return done(error)
      const field = tooDeepField(body, FIELD_MAX_DEPTH)
      if (field !== undefined) return done(new BodyTooDeepError(`body${field}`, FIELD_MAX_DEPTH))
      done(null, body)
    })
  }
}

/** The JSON parser of every route of the registry that takes a body and has none of its own. */
export function jsonBodyParser (parseJson: FastifyBodyParser<string>): (request: FastifyRequest, raw: Buffer, done: Done) => void {
  const parse = checkedJsonParser(parseJson)
  return (request, raw, done) => {
    let bytes: Buffer
    try {
      bytes = bodyBytes(request, raw)
    } catch (error) {
      return done(error as Error)
    }
    parse(request, bytes, done)
  }
}
