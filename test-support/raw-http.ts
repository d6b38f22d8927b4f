import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

export interface RawConnection {
  socket: Socket
  /** Everything the server sent so far, as Latin-1 text. */
  received: () => string
  /** Resolves with everything the server sent once it has closed its side of the connection. */
  ended: Promise<string>
}

interface Tap { teardown: (fn: () => unknown) => void }

/**
 * A TCP connection to 127.0.0.1:`port` that has sent `text` exactly as given and nothing more: the
 * way to send what an HTTP client would not (a body shorter than its Content-Length, a request
 * line in absolute form). Destroyed when the test ends.
 */
export async function rawConnection (t: Tap, port: number, text: string): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  let received = ''
  socket.setEncoding('latin1').on('data', (chunk: string) => { received += chunk })
  // A reset is a close too; whoever waits on `ended` reads what came before it.
  socket.on('error', () => {})
  const ended = new Promise<string>((resolve) => { socket.once('close', () => resolve(received)) })
  await once(socket, 'connect')
  socket.write(text, 'latin1')
  return { socket, received: () => received, ended }
}

/** What the server sent, once it closed the connection; a rejection naming what it sent so far after `timeout` ms. */
export async function endedWithin (connection: RawConnection, timeout: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  return await Promise.race([
    connection.ended,
    new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the server kept the connection open for ${timeout} ms; it sent: ${JSON.stringify(connection.received())}`))
      }, timeout)
    })
  ]).finally(() => { clearTimeout(timer) })
}

/** The status code and the headers (names in lower case) of the first response in `text`. */
export function parseHead (text: string): { status: number, headers: Record<string, string> } {
  const [statusLine = '', ...lines] = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers }
}
