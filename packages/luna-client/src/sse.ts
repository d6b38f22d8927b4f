/** One event of a Server-Sent Events stream. */
export interface ServerSentEvent {
  event: string
  data: string
  /** The last event id the stream set, if any. */
  id: string | undefined
}

/**
 * An incremental parser for `text/event-stream` (the WHATWG rules): feed it text as it arrives,
 * in chunks of any size, and it returns the events each chunk completes.
 */
export class SseParser {
  /** The stream's `retry:` hint in milliseconds, once it has sent one. */
  retry: number | undefined
  #buffer = ''
  #event = ''
  #data: string[] = []
  #id: string | undefined

  push (text: string): ServerSentEvent[] {
    this.#buffer += text
    const events: ServerSentEvent[] = []
    let start = 0
    for (;;) {
      const cr = this.#buffer.indexOf('\r', start)
      const lf = this.#buffer.indexOf('\n', start)
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf)
      if (end === -1) break
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (end === cr && end === this.#buffer.length - 1) break
      const event = this.#line(this.#buffer.slice(start, end))
      if (event !== undefined) events.push(event)
      start = end + (end === cr && this.#buffer[end + 1] === '\n' ? 2 : 1)
    }
    this.#buffer = this.#buffer.slice(start)
    return events
  }

  #line (line: string): ServerSentEvent | undefined {
    if (line === '') return this.#dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.#id = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value)
    return undefined
  }

  #dispatch (): ServerSentEvent | undefined {
    const event = this.#event === '' ? 'message' : this.#event
    const data = this.#data
    this.#event = ''
    this.#data = []
    if (data.length === 0) return undefined
    return { event, data: data.join('\n'), id: this.#id }
  }
}
