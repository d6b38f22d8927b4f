import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLunaClient, type LunaClient } from 'luna-client'
import { buildServer } from 'luna-server'

export interface ShopOptions {
  /** luna-server's port: the registry and the gateway. Default 4000; 0 picks a free one. */
  port?: number
  /** The front end's port. Default 8080; 0 picks a free one. */
  frontEndPort?: number
  /** Where everything listens. Default `127.0.0.1`. */
  host?: string
}

export interface Shop {
  /** luna-server's origin; the gateway is under `/gateway/services/`. */
  luna: string
  /** The orders service's own origin (the front end never uses it). */
  orders: string
  /** The front end's origin, another than luna-server's. */
  frontEnd: string
  close: () => Promise<void>
}

const PUBLIC = new URL('../public/', import.meta.url)

function origin (server: Server | FastifyInstance['server'], host: string): string {
  return `http://${host}:${(server.address() as AddressInfo).port}`
}

/** The orders service: it knows nothing of the front end, and registers itself with Luna. */
async function startOrders (host: string): Promise<FastifyInstance> {
  const orders = [{ id: 1, item: 'telescope' }, { id: 2, item: 'star chart' }]
  const app = Fastify()
  app.get('/orders', async () => orders)
  app.post<{ Body: { item?: unknown } }>('/orders', async (request, reply) => {
    const item = request.body?.item
    if (typeof item !== 'string' || item === '') return await reply.code(400).send({ message: 'body/item must be a non-empty string' })
    const order = { id: orders.length + 1, item }
    orders.push(order)
    return await reply.code(201).send(order)
  })
  await app.listen({ port: 0, host })
  return app
}

/**
 * The front end: a page and its script, served from an origin of its own. The page is told
 * where the gateway is; the browser then calls the services there.
 */
async function startFrontEnd (port: number, host: string, gateway: () => string): Promise<Server> {
  const server = createServer((request, response) => {
    const file = request.url === '/app.js' ? 'app.js' : request.url === '/' ? 'index.html' : undefined
    if (file === undefined) {
      response.writeHead(404).end()
      return
    }
    readFile(new URL(file, PUBLIC), 'utf8').then((text) => {
      response.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8' })
      response.end(text.replace('%GATEWAY%', gateway()))
    }, () => { response.writeHead(500).end() })
  })
  server.listen(port, host)
  await new Promise((resolve) => server.once('listening', resolve))
  return server
}

/** luna-server (registry and gateway), the orders service registered with it, and the front end. */
export async function startShop (options: ShopOptions = {}): Promise<Shop> {
  const host = options.host ?? '127.0.0.1'
  let gateway = ''
  const frontEnd = await startFrontEnd(options.frontEndPort ?? 8080, host, () => gateway)
  const frontEndOrigin = origin(frontEnd, host)
  // The front end's origin may call the gateway: luna-server answers its CORS preflights.
  const luna = buildServer({ corsOrigin: frontEndOrigin, logLevel: 'warn' })
  await luna.listen({ port: options.port ?? 4000, host })
  const lunaOrigin = origin(luna.server, host)
  gateway = `${lunaOrigin}/gateway/services`

  const orders = await startOrders(host)
  const ordersOrigin = origin(orders.server, host)
  const client: LunaClient = createLunaClient(`http://admin:@${new URL(lunaOrigin).host}`)
  await client.register({ name: 'orders', version: '1.0.0', status: 'OK', url: `${ordersOrigin}/` }).ready()

  return {
    luna: lunaOrigin,
    orders: ordersOrigin,
    frontEnd: frontEndOrigin,
    close: async () => {
      await client.close()
      await orders.close()
      await luna.close()
      frontEnd.closeAllConnections()
      await new Promise((resolve) => frontEnd.close(resolve))
    }
  }
}
