import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isErrorBody, LunaError, LunaNetworkError } from './errors.js'
import { trustingFetch, type CertificateAuthorities } from './trusting-fetch.js'

export const DEFAULT_PREFIX = '/registry/v1'
export const DEFAULT_TIMEOUT = 5000

export interface TransportOptions {
  url: string | URL
  prefix?: string | undefined
  auth?: { username: string, password?: string | undefined } | undefined
  fetch?: typeof globalThis.fetch | undefined
  timeout?: number | undefined
  ca?: CertificateAuthorities | undefined
}

export interface Answer<T> {
  status: number
  body: T
}

/**
 * The registry's base URL without credentials, and the `Authorization` header they become:
 * fetch refuses URLs that carry credentials.
 */
export function parseRegistryUrl (url: string | URL, prefix: string = DEFAULT_PREFIX): { base: string, authorization: string | undefined } {
  // The URL may hold a password: messages never repeat it.
  if (!URL.canParse(String(url))) throw new TypeError('luna-client: url must be an absolute http: or https: URL')
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`luna-client: url must use http: or https:, got "${parsed.protocol}"`)
  }
  if (prefix !== '' && !prefix.startsWith('/')) throw new TypeError(`luna-client: prefix must be '' or start with '/', got "${prefix}"`)
  const authorization = parsed.username === '' && parsed.password === ''
    ? undefined
    : basic(decode(parsed.username), decode(parsed.password))
  const path = parsed.pathname.replace(/\/+$/, '')
  const tail = prefix.replace(/\/+$/, '')
  // `http://host/registry/v1` and `http://host` both mean the registry at /registry/v1.
  const base = `${parsed.origin}${tail !== '' && path.endsWith(tail) ? path : path + tail}`
  return { base, authorization }
}

export function basic (username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

function decode (part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

/** The useful part of a fetch failure: `connect ECONNREFUSED …` rather than `fetch failed`. */
function reason (error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return String(cause)
  if (cause.message !== '') return cause.message
  return String((cause as NodeJS.ErrnoException).code ?? cause.name)
}

/** An empty body is `undefined`; anything else must be JSON. */
function parseJson (text: string): { ok: boolean, value: unknown } {
  if (text === '') return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, value: undefined }
  }
}

async function * chunks (response: Response): AsyncIterable<Uint8Array> {
  if (response.body === null) return
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

const STALE_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

function isStaleConnection (error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined
  return typeof cause === 'object' && cause !== null && STALE_CONNECTION.has(String((cause as { code?: unknown }).code))
}

function isTimeout (error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError'
}

/** HTTP to one registry: JSON in and out, errors turned into `LunaError` and `LunaNetworkError`. */
export class Transport {
  /** The registry's base URL, prefix included, credentials removed. */
  readonly base: string
  readonly timeout: number
  readonly #authorization: string | undefined
  readonly #fetch: typeof globalThis.fetch
  readonly #customFetch: boolean
  readonly #ca: CertificateAuthorities | undefined

  constructor (options: TransportOptions) {
    const { base, authorization } = parseRegistryUrl(options.url, options.prefix ?? DEFAULT_PREFIX)
    this.base = base
    this.#authorization = options.auth === undefined ? authorization : basic(options.auth.username, options.auth.password ?? '')
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT
    if (!(this.timeout > 0)) throw new TypeError(`luna-client: timeout must be a positive number of milliseconds, got ${this.timeout}`)
    if (options.ca !== undefined && options.fetch !== undefined) throw new TypeError('luna-client: ca and fetch cannot be used together: give your fetch the CA')
    this.#ca = options.ca
    this.#fetch = options.fetch ?? (options.ca === undefined ? globalThis.fetch : trustingFetch(options.ca))
    this.#customFetch = options.fetch !== undefined
  }

  headers (extra: Record<string, string> = {}): Record<string, string> {
    return this.#authorization === undefined ? extra : { ...extra, authorization: this.#authorization }
  }

  /** One request; resolves for 2xx (`body` is `undefined` when empty), throws otherwise. */
  async request<T> (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const url = this.base + path
    const payload = body === undefined ? null : JSON.stringify(body)
    let sent: { response: Response, text: string }
    try {
      sent = await this.#send(method, url, payload, headers)
    } catch (error) {
      // A kept-alive connection the registry closed (it restarted, or timed the connection
      // out) fails before anything was processed. Every request here is idempotent (POST
      // creates or replaces), so it is sent again once, at once, on a new connection.
      if (!isStaleConnection(error)) throw this.networkError(method, url, error)
      try {
        sent = await this.#send(method, url, payload, headers)
      } catch (again) {
        throw this.networkError(method, url, again)
      }
    }
    const { response, text } = sent
    const parsed = parseJson(text)
    if (response.ok && parsed.ok) return { status: response.status, body: parsed.value as T }
    throw this.#answerError(method, url, response.status, response.statusText, text)
  }

  async #send (method: string, url: string, payload: string | null, headers: Record<string, string>): Promise<{ response: Response, text: string }> {
    const response = await this.#fetch(url, {
      method,
      headers: this.headers(payload === null ? { accept: 'application/json', ...headers } : { accept: 'application/json', 'content-type': 'application/json', ...headers }),
      body: payload,
      signal: AbortSignal.timeout(this.timeout)
    })
    return { response, text: await response.text() }
  }

  /**
   * Opens `path` as a stream of Server-Sent Events and resolves with its body once the headers
   * are in; `controller` ends it. Only the wait for the headers is bounded by `timeout`.
   */
  async stream (path: string, controller: AbortController): Promise<AsyncIterable<Uint8Array>> {
    const url = this.base + path
    try {
      return this.#customFetch ? await this.#fetchStream(url, controller) : await this.#httpStream(url, controller)
    } catch (error) {
      if (error instanceof LunaError || error instanceof LunaNetworkError) throw error
      throw this.networkError('GET', url, error)
    }
  }

  /**
   * node:http rather than fetch: the fetch of Node 20 (undici 6), once a streaming response is
   * aborted, opens a spare connection that never serves a request, and a registry shutting down
   * waits for it. A request of its own, without an agent, ends with its socket.
   */
  async #httpStream (url: string, controller: AbortController): Promise<AsyncIterable<Uint8Array>> {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest
    return await new Promise((resolve, reject) => {
      const ca = this.#ca === undefined ? {} : { ca: this.#ca as string | Buffer | Array<string | Buffer> }
      const req = request(url, { headers: this.headers({ accept: 'text/event-stream' }), signal: controller.signal, agent: false, ...ca }, (res) => {
        clearTimeout(timer)
        const status = res.statusCode ?? 0
        if (status >= 200 && status < 300) {
          resolve(res)
          return
        }
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { text += chunk })
        res.on('end', () => { reject(this.#answerError('GET', url, status, res.statusMessage ?? '', text)) })
        res.on('error', reject)
      })
      const timer = setTimeout(() => {
        req.destroy(new LunaNetworkError(`GET ${url}: no answer within ${this.timeout} ms`, 'LUNA_CLIENT_TIMEOUT', undefined))
      }, this.timeout)
      // Later errors (a reset while streaming) reach the reader through the response.
      req.on('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      req.end()
    })
  }

  async #fetchStream (url: string, controller: AbortController): Promise<AsyncIterable<Uint8Array>> {
    const timer = setTimeout(() => {
      controller.abort(new LunaNetworkError(`GET ${url}: no answer within ${this.timeout} ms`, 'LUNA_CLIENT_TIMEOUT', undefined))
    }, this.timeout)
    try {
      const response = await this.#fetch(url, { headers: this.headers({ accept: 'text/event-stream' }), signal: controller.signal })
      if (!response.ok) throw this.#answerError('GET', url, response.status, response.statusText, await response.text())
      return chunks(response)
    } catch (error) {
      throw controller.signal.reason instanceof LunaNetworkError ? controller.signal.reason : error
    } finally {
      clearTimeout(timer)
    }
  }

  #answerError (method: string, url: string, status: number, statusText: string, text: string): LunaError {
    const parsed = parseJson(text)
    if (isErrorBody(parsed.value)) return new LunaError({ error: statusText, ...parsed.value })
    return new LunaError({
      statusCode: status,
      code: 'LUNA_CLIENT_UNEXPECTED_RESPONSE',
      error: statusText,
      message: `${method} ${url} answered ${status} ${statusText}: ${text.slice(0, 200)}`
    })
  }

  networkError (method: string, url: string, error: unknown): LunaNetworkError {
    if (isTimeout(error)) {
      return new LunaNetworkError(`${method} ${url}: no answer within ${this.timeout} ms`, 'LUNA_CLIENT_TIMEOUT', error)
    }
    return new LunaNetworkError(`${method} ${url}: registry unreachable: ${reason(error)}`, 'LUNA_CLIENT_NETWORK_ERROR', error)
  }
}
