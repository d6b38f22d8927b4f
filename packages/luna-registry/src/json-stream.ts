import { Readable } from 'node:stream'
import { nextTurn } from './turns.js'

/**
 * Characters of JSON made at a time, and the bytes a stream keeps ready for its socket: what a
 * connection can make the server hold for it, whatever the size of the list.
 */
export const PIECE_SIZE = 16 * 1024

/**
 * The pieces of a JSON text as a stream made only as fast as the socket it is piped to takes
 * them: a reader that stops reading stops the making, and the server holds at most a piece and
 * the stream's buffer for it rather than the whole text. Each piece after the first is made in
 * a turn of its own (`nextTurn`).
 */
export function jsonStream (pieces: Iterable<string>): Readable {
  async function * paced (): AsyncGenerator<string, void, undefined> {
    let first = true
    for (const piece of pieces) {
      if (!first) await nextTurn()
      first = false
      yield piece
    }
  }
  return Readable.from(paced(), { objectMode: false, highWaterMark: PIECE_SIZE })
}

/** Resolves once `stream` can take more, or has closed. */
export async function drained (stream: NodeJS.EventEmitter): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}
