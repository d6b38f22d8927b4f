// The ceiling of the gateway: a bare Fastify 5 server whose one route forwards with
// @fastify/reply-from, on its defaults, to the upstream given: what the gateway is built on, with
// no registry, no balancer, no path checks and no retries. No logger.
// Usage: node proxy-ceiling-server.js --port N --upstream http://127.0.0.1:M
import { parseArgs } from 'node:util'
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' } } })
const upstream = values.upstream ?? 'http://127.0.0.1:8080'
const app = Fastify({ logger: false })
await app.register(replyFrom, { disableRequestLogging: true })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })
app.all('/gateway/services/orders/*', (request, reply) => {
  // The query goes with the request as it came: reply-from takes it from the raw URL.
  return reply.from(`${upstream}/${(request.params as { '*': string })['*']}`)
})

const close = (): void => {
  app.close().then(() => process.exit(0), () => process.exit(1))
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

await app.listen({ port: Number(values.port ?? 0), host: values.host })
