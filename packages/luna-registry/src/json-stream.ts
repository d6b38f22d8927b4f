import { Readable } from 'node:stream'

/**
 * Characters of JSON made at a time, and the bytes a stream keeps ready for its socket: what a
 * connection can make the server hold for it, whatever the size of the list.
 */
export const PIECE_SIZE = 16 * 1024

const waiting: Array<() => void> = []
let scheduled = false

function schedule (): void {
  if (scheduled) return
  scheduled = true
  setImmediate(runOne)
}

function runOne (): void {
  scheduled = false
  const next = waiting.shift()
  if (waiting.length > 0) schedule()
  next?.()
}

/**
 * Resolves in a turn of the event loop of its own: the turns are handed out one at a time, first
 * come first served, to everything in the process that writes a large answer (a list, a
 * snapshot) or reads the store for one. Each holds the event loop for one piece of work, then
 * lets it poll for I/O again; however many such answers are under way, a request that needs
 * none of them (a heartbeat, a health check) waits for one piece at most, not one per answer.
 */
export async function nextTurn (): Promise<void> {
  await new Promise<void>((resolve) => {
    waiting.push(resolve)
    schedule()
  })
}

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
