import { pathToFileURL } from 'node:url'
import { startShop } from './app.js'

export { startShop, type Shop, type ShopOptions } from './app.js'

function port (name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new Error(`${name} must be an integer from 0 to 65535, got "${value}"`)
  return number
}

async function main (): Promise<void> {
  const shop = await startShop({ port: port('PORT', 4000), frontEndPort: port('FRONT_END_PORT', 8080) })
  console.log(`luna-server (registry and gateway) at ${shop.luna}`)
  console.log(`orders service at ${shop.orders}, registered as "orders"`)
  console.log(`front end at ${shop.frontEnd}: open it in a browser`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shop.close().then(() => process.exit(0), (error: unknown) => {
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
