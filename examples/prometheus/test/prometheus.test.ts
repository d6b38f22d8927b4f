import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { runNode } from '../../../test-support/node-process.js'
import { startPrometheus } from '../../../test-support/prometheus.js'
import { freePort } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'

const HERE = fileURLToPath(new URL('..', import.meta.url))

t.test('the example\'s prometheus.yml scrapes Luna and the service it discovers through Luna', async (t) => {
  const port = await freePort()
  const example = runNode(t, 'dist/index.js', HERE, { PORT: String(port), ORDERS_PORT: '0' })
  await until('the example is ready', () => /^ready: /m.test(example.output()) || undefined, 20_000)
  const ordersUrl = /orders at (http:\/\/\S+)/.exec(example.output())![1]!
  await fetch(ordersUrl) // one order taken

  // The configuration as the README runs it, with Luna on the test's port and intervals of a second.
  const config = (await readFile(new URL('../prometheus.yml', import.meta.url), 'utf8'))
    .replaceAll('localhost:4000', `127.0.0.1:${port}`)
    .replace('scrape_interval: 15s', 'scrape_interval: 1s\n  scrape_timeout: 900ms')
    .replace('refresh_interval: 15s', 'refresh_interval: 1s')
  const prometheus = await startPrometheus(t, config)
  if (prometheus === undefined) return

  const orders = await until('Prometheus scrapes the orders service it discovered', async () => {
    const [sample] = await prometheus.query('orders_taken_total')
    return sample
  }, 30_000)
  t.match(orders.metric, { job: 'services', service: 'orders', version: '1.4.2', zone: 'eu-1' })
  t.equal(orders.value[1], '1')
  const [up] = await prometheus.query('up{job="services"}')
  t.equal(up?.value[1], '1')
  const luna = await until('Prometheus scrapes Luna', async () => {
    const found = await prometheus.query('luna_instances{job="luna",status="OK"}')
    return found[0]
  }, 30_000)
  t.equal(luna.value[1], '1', 'the orders instance')

  example.child.kill('SIGTERM')
  const [code] = await example.exited
  t.equal(code, 0, 'it deregisters and exits cleanly on SIGTERM')
})
