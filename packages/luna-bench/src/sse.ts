import http from 'node:http'
import { AUTHORIZATION, PREFIX } from './payload.js'

export interface SseEvent {
  type: string
  data: string
}

/** Splits a Server-Sent Events byte stream into events; comments and `retry:` lines are skipped. */
export class SseParser {
  #buffer = ''
  #scanned = 0

  /** The events completed by `chunk`. */
  push (chunk: string): SseEvent[] {
    this.#buffer += chunk
    const events: SseEvent[] = []
    let start = 0
    // A frame can be large (the snapshot): resume the search where the last one stopped.
    let end = this.#buffer.indexOf('\n\n', Math.max(0, this.#scanned - 1))
    while (end !== -1) {
      const event = parseFrame(this.#buffer.slice(start, end))
      if (event !== undefined) events.push(event)
      start = end + 2
      end = this.#buffer.indexOf('\n\n', start)
    }
    this.#buffer = this.#buffer.slice(start)
    this.#scanned = this.#buffer.length
    return events
  }
}

function parseFrame (frame: string): SseEvent | undefined {
  let type = 'message'
  const data: string[] = []
  for (const line of frame.split('\n')) {
    if (line.startsWith('event: ')) type = line.slice(7)
    else if (line.startsWith('data: ')) data.push(line.slice(6))
  }
  return data.length === 0 ? undefined : { type, data: data.join('\n') }
}

/**
 * Opens `GET {prefix}/events` on a connection of its own and calls `onEvent` for each event.
 * Resolves once the response headers arrived; rejects on a status other than 200.
 */
export async function subscribe (baseUrl: string, onEvent: (event: SseEvent) => void, onClose: () => void = () => {}): Promise<http.ClientRequest> {
  return await new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}${PREFIX}/events`, {
      agent: false,
      headers: { authorization: AUTHORIZATION, accept: 'text/event-stream' }
    }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`GET ${PREFIX}/events answered ${res.statusCode ?? 0}`))
        return
      }
      const parser = new SseParser()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        for (const event of parser.push(chunk)) onEvent(event)
      })
      res.on('close', onClose)
      resolve(req)
    })
    req.on('error', reject)
  })
}
