import { pathToFileURL } from 'node:url'
import { startEdge } from './app.js'

export { startEdge, type Edge, type EdgeOptions } from './app.js'

function port (name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new Error(`${name} must be an integer from 0 to 65535, got "${value}"`)
  return number
}

async function main (): Promise<void> {
  const edge = await startEdge({ port: port('PORT', 4000), nginxPort: port('NGINX_PORT', 8080), nginx: process.env['NGINX'] ?? '/usr/sbin/nginx' })
  console.log(`luna-server (registry) at ${edge.luna}`)
  console.log(`nginx at ${edge.nginx}, including ${edge.dir}/luna.conf`)
  console.log(`try ${edge.nginx}/gateway/services/hello/ and ${edge.nginx}/gateway/services/clock/now`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      edge.close().then(() => process.exit(0), (error: unknown) => {
        console.error(error)
        process.exit(1)
      })
    })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
}
