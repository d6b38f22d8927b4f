import type { IncomingHttpHeaders } from 'node:http'
import { Agent, request } from 'node:https'

/** Certificates of the authorities trusted for the registry's `https:` URL, in PEM. */
export type CertificateAuthorities = string | Buffer | ReadonlyArray<string | Buffer>

function headersOf (raw: IncomingHttpHeaders): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one)
  }
  return headers
}

/** Answers that carry no body: the `Response` constructor refuses one. */
const BODILESS = new Set([101, 204, 205, 304])

/**
 * A `fetch` that trusts `ca` for `https:` URLs, over node:https with connections kept alive.
 * Node 20's own fetch takes no CA (its dispatcher is undici's, a package luna-client does not
 * depend on); this covers what the client asks of fetch: a method, headers, a string body, a
 * signal, and a `Response` read whole. Errors take fetch's shape, `TypeError('fetch failed')`
 * with the cause, and an aborted request rejects with the signal's reason, as fetch does.
 */
export function trustingFetch (ca: CertificateAuthorities): typeof globalThis.fetch {
  const agent = new Agent({ keepAlive: true, ca: ca as string | Buffer | Array<string | Buffer> })
  return async (input, init = {}) => await new Promise<Response>((resolve, reject) => {
    const signal = init.signal ?? undefined
    const req = request(String(input), {
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      agent,
      ...(signal === undefined ? {} : { signal })
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      res.on('error', reject)
      res.on('end', () => {
        const status = res.statusCode ?? 0
        resolve(new Response(BODILESS.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: headersOf(res.headers) }))
      })
    })
    req.on('error', (error) => { reject(signal?.aborted === true ? signal.reason : new TypeError('fetch failed', { cause: error })) })
    req.end(typeof init.body === 'string' ? init.body : undefined)
  })
}
