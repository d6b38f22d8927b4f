// The service behind every proxy of the gateway suite: a bare node:http server answering each
// request with a small JSON body naming its path. Usage: node upstream-server.js --port N
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } })
const server = createServer((request, response) => {
  const body = JSON.stringify({ id: 1, item: 'telescope', url: request.url })
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  response.end(body)
})
// Longer than any pause between rounds: every proxy keeps its connections to the upstream.
server.keepAliveTimeout = 60_000

const close = (): void => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
}
process.on('SIGTERM', close)
process.on('SIGINT', close)
server.listen(Number(values.port ?? 0), values.host)
