import { pathToFileURL } from 'node:url'
import { buildApp } from './app.js'

export { buildApp, type AppOptions } from './app.js'

function port (value: string | undefined): number {
  const number = Number(value ?? 3000)
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new Error(`PORT must be 0–65535, got "${value}"`)
  return number
}

async function main (): Promise<void> {
  const app = await buildApp({
    logger: { level: process.env['LOG_LEVEL'] ?? 'info' },
    registry: {
      auth: { username: process.env['LUNA_AUTH_USERNAME'] ?? 'admin', password: process.env['LUNA_AUTH_PASSWORD'] ?? '' }
    }
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.close().catch((err: unknown) => {
        app.log.error({ err }, 'close failed')
        process.exitCode = 1
      })
    })
  }
  // Fastify logs the address as `Server listening at http://...`.
  await app.listen({ port: port(process.env['PORT']), host: process.env['HOST'] ?? '127.0.0.1' })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
