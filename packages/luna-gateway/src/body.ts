import { Readable } from 'node:stream'
import { BodyTooLargeError } from './errors.js'

/** What happened to a request body handed to one attempt. */
export interface BodyState {
  /** Whether the attempt started reading it: after that, it cannot be sent to another instance. */
  read: boolean
}

/**
 * The request body for one attempt: a stream that starts taking data from `source` only when
 * the upstream connection reads it. An attempt that fails before (a refused connection) leaves
 * `source` untouched for the next one; undici destroys the body of a failed request, and that is
 * this wrapper, never the client's stream. More than `limit` bytes destroy it with a 413.
 */
export function attemptBody (source: Readable, limit: number, state: BodyState): Readable {
  let received = 0
  const onData = (chunk: Buffer): void => {
    received += chunk.length
    if (received > limit) {
      body.destroy(new BodyTooLargeError(limit))
      return
    }
    if (!body.push(chunk)) source.pause()
  }
  const onEnd = (): void => {
    detach()
    body.push(null)
  }
  const onError = (error: Error): void => { body.destroy(error) }
  // The client went away before the end of its body.
  const onClose = (): void => { if (!source.readableEnded) body.destroy(new Error('the client closed the request before the end of its body')) }
  const detach = (): void => {
    source.off('data', onData)
    source.off('end', onEnd)
    source.off('error', onError)
    source.off('close', onClose)
  }
  const body = new Readable({
    read () {
      if (state.read) {
        source.resume()
        return
      }
      state.read = true
      source.on('data', onData)
      source.once('end', onEnd)
      source.once('error', onError)
      source.once('close', onClose)
      source.resume()
    },
    destroy (error, callback) {
      detach()
      callback(error)
    }
  })
  return body
}
