import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLunaClient } from 'luna-client'
import { buildServer } from 'luna-server'

function port (name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new Error(`${name} must be a port from 0 to 65535, got "${value}"`)
  return number
}

// Luna, as `npx luna-server` runs it: user admin, blank password.
const luna = buildServer({ logLevel: 'warn' })
await luna.listen({ port: port('PORT', 4000), host: '127.0.0.1' })
const registry = `http://admin@127.0.0.1:${(luna.server.address() as AddressInfo).port}`

// A service with metrics of its own, at a path of its choosing.
let orders = 0
const service = createServer((request, response) => {
  if (request.url === '/internal/metrics') {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
    response.end(`# HELP orders_taken_total Orders taken\n# TYPE orders_taken_total counter\norders_taken_total ${orders}\n`)
    return
  }
  orders++
  response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
})
await new Promise<void>((resolve) => service.listen(port('ORDERS_PORT', 8081), '127.0.0.1', resolve))
const servicePort = (service.address() as AddressInfo).port

// It registers, telling Prometheus (through Luna) where its metrics are.
const client = createLunaClient(registry)
const registration = client.register({
  name: 'orders',
  version: '1.4.2',
  status: 'OK',
  url: `http://127.0.0.1:${servicePort}/`,
  metadata: { zone: 'eu-1', metrics_path: '/internal/metrics' }
})
await registration.ready()

console.log(`ready: Luna at ${registry}, orders at http://127.0.0.1:${servicePort}/`)
console.log('now run: prometheus --config.file=prometheus.yml --storage.tsdb.path=/tmp/luna-prometheus')

async function stop (): Promise<void> {
  await registration.deregister()
  await client.close()
  service.close()
  await luna.close()
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stop().catch((error: unknown) => {
      console.error(error)
      process.exitCode = 1
    })
  })
}
