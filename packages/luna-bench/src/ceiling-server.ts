// The ceiling of Luna's stack: a bare Fastify 5 server with one PUT route that parses the JSON
// body, stores it in a Map and answers it back (Luna answers a view of about the same size).
// No auth, no validation, no logger. Usage: node ceiling-server.js --port N [--host 127.0.0.1]
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } })
const app = Fastify({ logger: false })
const instances = new Map<string, unknown>()

app.put('/registry/v1/instances/*', async (request) => {
  const id = (request.params as { '*': string })['*']
  instances.set(id, request.body)
  return request.body
})

const close = (): void => {
  app.close().then(() => process.exit(0), () => process.exit(1))
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

await app.listen({ port: Number(values.port ?? 0), host: values.host })
process.stdout.write(`${JSON.stringify({ url: `http://${values.host}:${values.port ?? 0}` })}\n`)
