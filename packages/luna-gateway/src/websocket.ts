import { request as httpRequest, ServerResponse, type ClientRequest, type IncomingMessage, type Server } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Attempts, classify } from './attempts.js'
import { BadGatewayError, GatewayTimeoutError } from './errors.js'
import type { ForwarderSettings } from './forward.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js'
import type { Routable } from './routing-table.js'
import { upstreamUrl, type GatewayTarget } from './target-path.js'

const kUpgrade = Symbol('luna-gateway.upgrade')

interface PendingUpgrade {
  socket: Duplex
  head: Buffer
}

type UpgradeRequest = IncomingMessage & { [kUpgrade]?: PendingUpgrade }

/** The client's connection when `request` asks to upgrade it (a WebSocket handshake). */
export function pendingUpgrade (request: FastifyRequest): PendingUpgrade | undefined {
  return (request.raw as UpgradeRequest)[kUpgrade]
}

/** A failure of the handshake with an instance, coded as undici codes its own. */
function timedOut (code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

type Handshake =
  | { upgraded: true, response: IncomingMessage, socket: Duplex, head: Buffer }
  | { upgraded: false, response: IncomingMessage }

/**
 * Sends the upgrade request to one instance; resolves with its `101` and the connection, or with
 * any other answer, which goes back to the client as it is.
 */
async function handshake (url: string, method: string, headers: Record<string, string | string[] | undefined>, forwarder: ForwarderSettings, connectTimeout: number, client: Duplex): Promise<Handshake> {
  return await new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    const upstream: ClientRequest = send(url, { method, headers, agent: false })
    let timer = setTimeout(() => upstream.destroy(timedOut('UND_ERR_CONNECT_TIMEOUT', `connect timeout after ${connectTimeout} ms`)), connectTimeout)
    const settle = (): void => {
      clearTimeout(timer)
      client.off('close', abandon)
    }
    // The client left during the handshake: nothing to wait for.
    const abandon = (): void => { upstream.destroy() }
    client.once('close', abandon)
    upstream.once('socket', (socket) => {
      socket.once('connect', () => {
        clearTimeout(timer)
        timer = setTimeout(() => upstream.destroy(timedOut('UND_ERR_HEADERS_TIMEOUT', `no response headers within ${forwarder.timeout} ms`)), forwarder.timeout)
      })
    })
    upstream.once('upgrade', (response, socket, head) => {
      settle()
      resolve({ upgraded: true, response, socket, head })
    })
    upstream.once('response', (response) => {
      settle()
      resolve({ upgraded: false, response })
    })
    upstream.once('error', (error) => {
      settle()
      reject(error)
    })
    upstream.end()
  })
}

/**
 * WebSocket (and any other HTTP/1.1 upgrade) under the gateway: the handshake goes to an instance
 * chosen as for any request, and once it answers `101` the two connections are spliced, byte for
 * byte: frames, extensions and subprotocols are the client's and the instance's business.
 */
export class UpgradeProxy {
  readonly #fastify: FastifyInstance
  readonly #server: Server
  /** Raw URLs that start with this are the gateway's; others are left to the app. */
  readonly #path: string
  readonly #tunnels = new Set<Duplex>()
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => { this.#route(request, socket, head) }

  constructor (fastify: FastifyInstance, path: string) {
    this.#fastify = fastify
    this.#server = fastify.server
    this.#path = path
    this.#server.on('upgrade', this.#onUpgrade)
  }

  /** Stops taking upgrades and closes every tunnel: they would keep the server from closing. */
  close (): void {
    this.#server.off('upgrade', this.#onUpgrade)
    for (const socket of this.#tunnels) socket.destroy()
    this.#tunnels.clear()
  }

  /**
   * Takes an upgrade request through Fastify's router, so that it meets the same hooks (auth,
   * CORS) and the same route as any request. One elsewhere than under the gateway is left to the
   * app's own upgrade listeners, or, with none, answered as Node answers it without this one: as
   * a plain request.
   */
  #route (request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ours = request.url?.startsWith(this.#path) === true
    if (!ours && this.#server.listenerCount('upgrade') > 1) return
    if (ours) (request as UpgradeRequest)[kUpgrade] = { socket, head }
    const response = new ServerResponse(request)
    response.assignSocket(socket as never)
    // Answered without an upgrade: the connection has no parser left for another request.
    response.once('finish', () => { socket.end() })
    this.#fastify.routing(request, response)
  }

  /**
   * Hands the upgrade to one of `candidates`, trying another when one cannot be connected to
   * (nothing was sent) or breaks before answering, at most `attempts` in all.
   */
  async tunnel (forwarder: ForwarderSettings, request: FastifyRequest, reply: FastifyReply, target: GatewayTarget, candidates: readonly Routable[], pending: PendingUpgrade, connectTimeout: number): Promise<void> {
    const attempts = new Attempts(target.service, candidates, forwarder.balancer, forwarder.coolDown, forwarder.attempts)
    let instance = attempts.next()!
    for (;;) {
      const url = upstreamUrl(instance.url, target.rest) + target.query
      const headers = upstreamRequestHeaders(request, { ...request.headers }, forwarder.forwarding)
      if (!forwarder.forwarding.preserveHost) headers['host'] = new URL(url).host
      headers['connection'] = 'Upgrade'
      headers['upgrade'] = request.headers.upgrade
      let outcome: Handshake
      try {
        outcome = await handshake(url, request.method, headers, forwarder, connectTimeout, pending.socket)
      } catch (error) {
        const failure = classify(error)
        if (failure === 'connect') forwarder.coolDown.fail(instance.instanceId)
        request.log.info({ instanceId: instance.instanceId, failure, err: error }, 'luna-gateway: an upgrade attempt failed')
        const next = failure === 'connect' || failure === 'reset' ? attempts.next(failure === 'reset') : undefined
        if (next !== undefined) {
          instance = next
          continue
        }
        throw failure === 'timeout'
          ? new GatewayTimeoutError(target.service, forwarder.timeout)
          : new BadGatewayError(target.service, error instanceof Error ? error.message : String(error))
      }
      if (!outcome.upgraded) {
        // The instance declined the upgrade: its answer is the client's.
        const { response } = outcome
        reply.code(response.statusCode ?? 502).headers(clientResponseHeaders({ ...response.headers }))
        await reply.send(response)
        return
      }
      reply.hijack()
      this.#splice(pending, outcome)
      return
    }
  }

  #splice (client: PendingUpgrade, upstream: { response: IncomingMessage, socket: Duplex, head: Buffer }): void {
    const { response } = upstream
    const lines = [`HTTP/1.1 ${response.statusCode ?? 101} ${response.statusMessage ?? 'Switching Protocols'}`]
    for (let i = 0; i < response.rawHeaders.length; i += 2) lines.push(`${response.rawHeaders[i]!}: ${response.rawHeaders[i + 1]!}`)
    const socket = client.socket
    const close = (): void => {
      socket.destroy()
      upstream.socket.destroy()
      this.#tunnels.delete(socket)
      this.#tunnels.delete(upstream.socket)
    }
    if (socket.destroyed) {
      close()
      return
    }
    this.#tunnels.add(socket)
    this.#tunnels.add(upstream.socket)
    for (const end of [socket, upstream.socket]) {
      end.on('error', close)
      end.on('close', close)
      const tcp = end as Duplex & { setNoDelay?: (noDelay: boolean) => void, setTimeout?: (ms: number) => void }
      tcp.setNoDelay?.(true)
      tcp.setTimeout?.(0)
    }
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (upstream.head.length > 0) socket.write(upstream.head)
    if (client.head.length > 0) upstream.socket.write(client.head)
    upstream.socket.pipe(socket)
    socket.pipe(upstream.socket)
  }
}
