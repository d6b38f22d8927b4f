import http from 'node:http'
import { performance } from 'node:perf_hooks'

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** Bytes of the body as received. */
  bytes: number
  /** Milliseconds from sending the request to the last byte of the answer. */
  ms: number
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  agent?: http.Agent
}

/** Keeps connections open between requests, as a client that talks to the registry often does. */
export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 32 })

export async function request (url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(options.body))
  }
  return await new Promise((resolve, reject) => {
    const started = performance.now()
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: options.agent ?? keepAlive }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const ms = performance.now() - started
        const body = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.toString('utf8'), bytes: body.length, ms })
      })
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Calls `fn` for every item, at most `concurrency` at a time; the first failure rejects. */
export async function inParallel<T> (items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      await fn(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
