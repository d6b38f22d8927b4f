import { isUtf8 } from 'node:buffer'
import * as zlib from 'node:zlib'
import { errorCodes, type FastifyBodyParser, type FastifyRequest } from 'fastify'
import {
  BodyTooDeepError,
  InvalidContentEncodingError,
  InvalidUtf8Error,
  UnsupportedCharsetError,
  UnsupportedContentEncodingError
} from './errors.js'
import { FIELD_MAX_DEPTH } from './schemas.js'
import { tooDeepField } from './info-validation.js'

type Done = (error: Error | null, body?: unknown) => void

/** A body parser of the registry's: the bytes of a body, as Fastify read them, to its value. */
export type BodyParser = (request: FastifyRequest, bytes: Buffer, done: Done) => void

const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]*))/i
const UTF_8 = /^utf-?8$/i

/**
 * The codings a body may come in. Not Brotli: its decoder fills a window of up to 16 MiB before
 * the first byte comes out, so a few bytes can make it do megabytes of work whatever limit is set
 * on its output; inflating gzip or deflate stops one output chunk past the limit.
 */
const DECODERS = new Map<string, (bytes: Buffer, options: zlib.ZlibOptions) => Buffer>([
  ['gzip', zlib.gunzipSync],
  ['x-gzip', zlib.gunzipSync],
  ['deflate', zlib.inflateSync]
])

/**
 * `raw` decoded as `Content-Encoding` says, refused once it grows past the route's body limit:
 * the limit is of what the body holds, not only of what it took on the wire.
 */
function decoded (request: FastifyRequest, raw: Buffer, encoding: string): Buffer {
  const coding = encoding.trim().toLowerCase()
  if (coding === 'identity') return raw
  const decode = DECODERS.get(coding)
  if (decode === undefined) throw new UnsupportedContentEncodingError(encoding)
  // Nothing to decode: the JSON parser says the body is empty.
  if (raw.length === 0) return raw
  try {
    return decode(raw, { maxOutputLength: request.routeOptions.bodyLimit })
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()
    throw new InvalidContentEncodingError(coding, (error as Error).message)
  }
}

/**
 * The bytes of a request's body, once what its headers say of them is known to be what the
 * registry reads: throws when `Content-Type` names a charset other than UTF-8 (a Latin-1 body
 * read as UTF-8 would be stored wrong, not refused), and decodes a `Content-Encoding`.
 */
export function bodyBytes (request: FastifyRequest, raw: Buffer): Buffer {
  const type = request.headers['content-type']
  // Most clients send `application/json` alone: no parameters to look at.
  if (type !== undefined && type.includes(';')) {
    const match = CHARSET.exec(type)
    const charset = match?.[1] ?? match?.[2]
    if (charset !== undefined && !UTF_8.test(charset)) throw new UnsupportedCharsetError(charset)
  }
  const encoding = request.headers['content-encoding']
  return encoding === undefined ? raw : decoded(request, raw, encoding)
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
