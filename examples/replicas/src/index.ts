// Two luna-server replicas on one Redis. Each is a real process, as in production behind a load
// balancer; this program starts both, shows that they share one registry and one event stream,
// and stops them on Ctrl-C (or at once with DEMO_ONLY=1).
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const PREFIX = process.env['LUNA_STORE_PREFIX'] ?? 'luna-replicas-example:'
const PORTS = [Number(process.env['PORT_A'] ?? 4001), Number(process.env['PORT_B'] ?? 4002)] as const
const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const bin = join(dirname(createRequire(import.meta.url).resolve('luna-server/package.json')), 'bin', 'luna-server.js')

function startReplica (port: number): ChildProcess {
  return spawn(process.execPath, [bin, '--port', String(port), '--host', '127.0.0.1', '--store', REDIS_URL, '--store-prefix', PREFIX, '--log-level', 'warn'], { stdio: 'inherit' })
}

async function healthy (port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return
    } catch {}
    await sleep(100)
  }
  throw new Error(`replica on :${port} did not become healthy`)
}

async function api (port: number, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}/registry/v1${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (!response.ok) throw new Error(`${method} ${path} on :${port} answered ${response.status}: ${await response.text()}`)
  return response.status === 204 ? undefined : await response.json()
}

/** The first `registered` event on a replica's stream, as text. */
async function nextRegistration (port: number): Promise<() => Promise<string>> {
  const response = await fetch(`http://127.0.0.1:${port}/registry/v1/events`, { headers: AUTH })
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!text.includes('event: snapshot')) text += decoder.decode((await reader.read()).value)
  return async () => {
    while (!/event: registered\ndata: .*\n/.test(text)) text += decoder.decode((await reader.read()).value)
    await reader.cancel()
    return /event: registered\ndata: (.*)\n/.exec(text)![1]!
  }
}

const [a, b] = PORTS
const replicas = [startReplica(a), startReplica(b)]
const stop = (): void => { for (const replica of replicas) replica.kill('SIGTERM') }
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

try {
  await Promise.all([healthy(a), healthy(b)])
  console.log(`replicas up: A on :${a}, B on :${b}, sharing ${REDIS_URL} under "${PREFIX}"`)
  const info = { name: 'orders', version: '1.0.0', status: 'OK', url: 'http://10.0.0.7:8080/' }
  await api(a, 'POST', '/instances/orders:10.0.0.7:8080', info)
  const seen = (await api(b, 'GET', '/services/orders')) as { instancesOnline: number }
  console.log(`registered on A, read on B: orders has ${seen.instancesOnline} instance(s) online`)
  const registration = await nextRegistration(b)
  await api(a, 'POST', '/instances/orders:10.0.0.8:8080', { ...info, url: 'http://10.0.0.8:8080/' })
  const event = JSON.parse(await registration()) as { instanceId: string }
  console.log(`registered on A, B's event stream says: registered ${event.instanceId}`)
  for (const id of ['orders:10.0.0.7:8080', 'orders:10.0.0.8:8080']) await api(b, 'DELETE', `/instances/${id}`)
  console.log('deregistered both on B')
  if (process.env['DEMO_ONLY'] === '1') stop()
  else console.log(`panel: http://localhost:${a}/registry/v1/services/ or :${b}; Ctrl-C stops both`)
} catch (error) {
  console.error(`replicas example failed: ${(error as Error).message}`)
  process.exitCode = 1
  stop()
}
