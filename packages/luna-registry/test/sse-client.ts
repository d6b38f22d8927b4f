import { request, type IncomingMessage } from 'node:http'

export interface ServerSentEvent {
  id?: string
  event: string
  data: unknown
}

/** A minimal EventSource over node:http that a test can read event by event. */
export class EventStream {
  readonly response: IncomingMessage
  readonly comments: string[] = []
  readonly #events: ServerSentEvent[] = []
  readonly #waiters: Array<() => void> = []
  #buffer = ''
  ended = false

  constructor (response: IncomingMessage) {
    this.response = response
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => {
      this.#buffer += chunk
      let end: number
      while ((end = this.#buffer.indexOf('\n\n')) !== -1) {
        this.#parse(this.#buffer.slice(0, end))
        this.#buffer = this.#buffer.slice(end + 2)
      }
    })
    response.on('close', () => {
      this.ended = true
      this.#wake()
    })
  }

  static async open (url: string, headers: Record<string, string> = {}): Promise<EventStream> {
    return await new Promise((resolve, reject) => {
      request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => resolve(new EventStream(res)))
        .on('error', reject)
        .end()
    })
  }

  /** The next event (of `type`, skipping others), or a rejection after `timeout` ms. */
  async next (type?: string, timeout = 3000): Promise<ServerSentEvent> {
    const deadline = Date.now() + timeout
    for (;;) {
      const index = this.#events.findIndex((event) => type === undefined || event.event === type)
      if (index !== -1) return this.#events.splice(0, index + 1).at(-1)!
      if (this.ended) throw new Error(`the stream ended before a ${type ?? 'further'} event`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${type ?? ''} event within ${timeout} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Events received and not yet read. */
  pending (): ServerSentEvent[] {
    return [...this.#events]
  }

  close (): void {
    this.response.destroy()
  }

  #parse (block: string): void {
    const event: ServerSentEvent = { event: 'message', data: undefined }
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim())
      else if (line.startsWith('id: ')) event.id = line.slice(4)
      else if (line.startsWith('event: ')) event.event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    if (data.length > 0) {
      event.data = JSON.parse(data.join('\n'))
      this.#events.push(event)
    }
    this.#wake()
  }

  #wake (): void {
    for (const waiter of this.#waiters.splice(0)) waiter()
  }
}
