import type { IncomingMessage, Server, ServerResponse } from 'node:http'

// What Node answers to a request that did not arrive in time, and our one header besides.
const TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\n\r\n'

/**
 * Times the bodies of requests, in place of Node's `requestTimeout`, which cuts every request
 * whose body has not arrived in full by then: a large upload through the gateway from a slow
 * client would be cut along with the stalled ones. (Node's `headersTimeout` still times the
 * headers of every request.)
 *
 * - A body for the registry (at most some kilobytes) must arrive whole within `timeout` of its
 *   headers; otherwise a 408, and the connection is closed.
 * - A body streamed on (`streamed(url)`, the gateway's) may take as long as it needs, but is cut
 *   when no byte arrives for `timeout`.
 *
 * A body that came in the same packets as its headers, as a heartbeat's does, is whole by the
 * time this looks: it costs no timer.
 */
export function timeBodies (server: Server, timeout: number, streamed: (url: string) => boolean): void {
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    queueMicrotask(() => {
      if (request.complete) return
      if (streamed(request.url ?? '')) untilIdle(request, response, timeout)
      else untilDeadline(request, response, timeout)
    })
  })
}

function untilDeadline (request: IncomingMessage, response: ServerResponse, timeout: number): void {
  const timer = setTimeout(() => {
    if (request.complete) return
    const { socket } = request
    // Whatever was answered before the body came (a 413, say) was answered whole: just close.
    if (response.headersSent) socket.destroy()
    else socket.end(TIMED_OUT, () => socket.destroy())
  }, timeout)
  timer.unref()
  request.once('close', () => { clearTimeout(timer) })
}

function untilIdle (request: IncomingMessage, response: ServerResponse, timeout: number): void {
  const { socket } = request
  // With no 'timeout' listener on the request, its response or the server, Node destroys a socket
  // that has been idle this long.
  socket.setTimeout(timeout)
  request.once('end', () => {
    // Once the response is done, Node has set the socket's keep-alive timeout: leave it be.
    if (!response.writableFinished) socket.setTimeout(0)
  })
}
