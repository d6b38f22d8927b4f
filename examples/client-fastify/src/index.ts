import { pathToFileURL } from 'node:url'
import { buildApp } from './app.js'

export { buildApp, type AppOptions } from './app.js'

function integer (name: string, fallback: number, min: number, max: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${value}"`)
  return number
}

async function main (): Promise<void> {
  const app = await buildApp({
    registry: process.env['LUNA_URL'] ?? 'http://admin@localhost:4000',
    logger: { level: process.env['LOG_LEVEL'] ?? 'info' },
    serviceName: process.env['SERVICE_NAME'] ?? 'catalog',
    heartbeatInterval: integer('HEARTBEAT_INTERVAL', 10_000, 1, 3_600_000),
    ...(process.env['ADVERTISED_HOST'] === undefined ? {} : { host: process.env['ADVERTISED_HOST'] })
  })
  // Closing the app deregisters it (the plugin's preClose), then waits for requests in flight.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'closing')
      app.close().catch((err: unknown) => {
        app.log.error({ err }, 'close failed')
        process.exitCode = 1
      })
    })
  }
  // Fastify logs the address as `Server listening at http://...`.
  await app.listen({ port: integer('PORT', 3000, 0, 65535), host: process.env['HOST'] ?? '127.0.0.1' })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
