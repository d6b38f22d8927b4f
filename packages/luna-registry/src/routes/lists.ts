import type { FastifyReply, FastifyRequest } from 'fastify'
import { jsonStream } from '../json-stream.js'

/** The URL of the page after this one: the same path and query, with `after` moved on. */
function nextPage (url: string, after: string): string {
  const mark = url.indexOf('?')
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1))
  query.set('after', after)
  return `${mark === -1 ? url : url.slice(0, mark)}?${query.toString()}`
}

/**
 * Answers a page of a list: its JSON, and a `Link` to the next page when one follows (RFC 8288).
 * A list that fits in one piece is sent whole, with its length; a longer one is streamed as the
 * client reads it. A `HEAD` gets the headers a `GET` would, without the rest of the list made.
 */
export async function sendList (request: FastifyRequest, reply: FastifyReply, next: string | undefined, pieces: Iterable<string>): Promise<FastifyReply> {
  if (next !== undefined) reply.header('link', `<${nextPage(request.url, next)}>; rel="next"`)
  reply.type('application/json; charset=utf-8')
  const rest = pieces[Symbol.iterator]()
  const first = rest.next()
  const second = first.done === true ? first : rest.next()
  if (second.done === true) return await reply.send(first.done === true ? '' : first.value)
  if (request.method === 'HEAD') {
    rest.return?.()
    return await reply.send(jsonStream([]))
  }
  return await reply.send(jsonStream(continued(first.value, second.value, rest)))
}

/** `first`, `second`, then what is left of `rest`. */
function * continued (first: string, second: string, rest: Iterator<string>): Generator<string, void, undefined> {
  yield first
  yield second
  for (let piece = rest.next(); piece.done !== true; piece = rest.next()) yield piece.value
}
