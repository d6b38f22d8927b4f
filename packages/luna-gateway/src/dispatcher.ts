import { Agent, type Dispatcher } from 'undici'

/** Where an upstream response's trailers will be, on its body stream. */
export const kTrailers = Symbol('luna-gateway.trailers')

export interface GatewayDispatcher {
  /** What @fastify/reply-from calls for each request. */
  request: (options: Dispatcher.RequestOptions, callback: (error: Error | null, data: Dispatcher.ResponseData) => void) => void
  close: () => Promise<void>
}

export interface DispatcherSettings {
  /** Milliseconds to wait for response headers. */
  timeout: number
  connectTimeout: number
}

/**
 * The undici agent behind @fastify/reply-from, as an object with a `request` method (which
 * reply-from accepts as its dispatcher). reply-from hands on the body of a response but not its
 * trailers; they are put on the body stream, where the gateway finds them once it has ended.
 * Response headers are waited for `timeout`; a body is never timed out, so an idle stream of
 * server-sent events stays open as long as both ends want it.
 */
export function createDispatcher (settings: DispatcherSettings): GatewayDispatcher {
  const agent = new Agent({
    headersTimeout: settings.timeout,
    bodyTimeout: 0,
    connect: { timeout: settings.connectTimeout }
  })
  return {
    request (options, callback) {
      agent.request(options, (error, data) => {
        // Only a response that declares trailers gets them relayed: the others are left as they are.
        if (error === null && data.headers['trailer'] !== undefined) (data.body as unknown as Record<symbol, unknown>)[kTrailers] = data.trailers
        callback(error, data)
      })
    },
    async close () {
      await agent.close()
    }
  }
}
