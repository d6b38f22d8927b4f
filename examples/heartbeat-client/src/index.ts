import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

function log (message: string): void {
  console.log(`${new Date().toISOString()} ${message}`)
}

function fail (message: string): never {
  console.error(message)
  process.exit(2)
}

function integer (name: string, fallback: number, min: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < min) fail(`${name} must be a whole number >= ${min}, got "${value}"`)
  return number
}

/** fetch refuses URLs with credentials in them, so they move into an Authorization header. */
function registryFrom (value: string): { base: string, headers: Record<string, string> } {
  if (!URL.canParse(value)) fail(`LUNA_URL must be an absolute URL, got "${value}"`)
  const url = new URL(value)
  const headers: Record<string, string> = {}
  if (url.username !== '' || url.password !== '') {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
    headers['authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`
    url.username = ''
    url.password = ''
  }
  return { base: url.href.replace(/\/+$/, ''), headers }
}

/** The useful part of a fetch failure: `connect ECONNREFUSED ...` rather than `fetch failed`. */
function reason (error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return String(cause)
  return cause.message !== '' ? cause.message : String((cause as NodeJS.ErrnoException).code ?? cause.name)
}

const registry = registryFrom(process.env['LUNA_URL'] ?? 'http://admin@localhost:4000/registry/v1')
const serviceName = process.env['SERVICE_NAME'] ?? 'hello'
const host = process.env['HOST'] ?? '127.0.0.1'
const interval = integer('HEARTBEAT_INTERVAL', 10_000, 1)

const server = createServer((request, response) => {
  const found = request.method === 'GET' && request.url === '/'
  response.writeHead(found ? 200 : 404, { 'content-type': 'application/json' })
  response.end(JSON.stringify(found ? { hello: 'world', from: serviceName } : { error: 'Not Found' }))
})
server.listen(integer('PORT', 8080, 0), host)
await once(server, 'listening')

// With PORT=0 the system picks the port, so the id is built from the one actually bound.
const { port } = server.address() as AddressInfo
const domain = host.includes(':') ? `[${host}]` : host
const instanceId = `${serviceName}:${domain}:${port}`
const endpoint = `${registry.base}/instances/${instanceId}`
const info = {
  name: serviceName,
  version: '1.0.0',
  status: 'OK',
  url: `http://${domain}:${port}/`,
  description: 'Answers GET / with a hello',
  metadata: { runtime: `node ${process.version}`, pid: String(process.pid) }
}
log(`${serviceName} listening on ${info.url}`)

/** One call to the registry. Failures are logged and resolve `undefined`: the service carries on. */
async function send (method: 'POST' | 'PUT' | 'DELETE'): Promise<Response | undefined> {
  try {
    const response = await fetch(endpoint, {
      method,
      headers: method === 'DELETE' ? registry.headers : { ...registry.headers, 'content-type': 'application/json' },
      body: method === 'DELETE' ? null : JSON.stringify(info),
      signal: AbortSignal.timeout(5000)
    })
    const body = await response.text()
    if (!response.ok && response.status !== 404) log(`${method} ${instanceId} refused: ${response.status} ${body}`)
    return response
  } catch (error) {
    log(`${method} ${instanceId} failed, registry unreachable: ${reason(error)}`)
    return undefined
  }
}

async function register (event: 'registered' | 're-registered'): Promise<void> {
  const response = await send('POST')
  if (response?.ok === true) log(`${event} ${instanceId} with ${registry.base}`)
}

async function heartbeat (): Promise<void> {
  // 404: the registry forgot us (restarted, or someone deregistered us), so register again.
  const response = await send('PUT')
  if (response?.status === 404) await register('re-registered')
}

// A chain of timeouts rather than setInterval: the next heartbeat is scheduled only once the
// last one has finished, so a slow registry never gets overlapping requests.
let stopping = false
let timer: NodeJS.Timeout | undefined
let inFlight = register('registered').then(scheduleNext)
function scheduleNext (): void {
  if (stopping) return
  timer = setTimeout(() => { inFlight = heartbeat().then(scheduleNext) }, interval)
}

async function shutdown (signal: NodeJS.Signals): Promise<void> {
  if (stopping) return
  stopping = true
  clearTimeout(timer)
  // A request still in flight could re-register after the DELETE; let it finish first.
  await inFlight
  const response = await send('DELETE')
  if (response?.ok === true) log(`deregistered ${instanceId} on ${signal}`)
  await new Promise((resolve) => server.close(resolve))
  process.exit(0)
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
