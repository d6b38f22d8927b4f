import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startPrometheus } from '../../../test-support/prometheus.js'
import { until } from '../../../test-support/until.js'
import { buildServer } from '../src/index.js'

const PASSWORD = 'scrape-me'
const AUTH = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` }

t.test('a real Prometheus discovers instances through /sd/prometheus and scrapes them and Luna', async (t) => {
  const luna = buildServer({ logLevel: 'silent', password: PASSWORD })
  t.teardown(() => luna.close())
  await luna.listen({ port: 0, host: '127.0.0.1' })
  const lunaAddress = `127.0.0.1:${(luna.server.address() as AddressInfo).port}`

  // A service with metrics of its own, at the path its metadata names.
  const service = createServer((request, response) => {
    if (request.url !== '/internal/metrics') return response.writeHead(404).end()
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('orders_orders_taken_total 42\n')
  })
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
  t.teardown(() => service.close())
  const servicePort = (service.address() as AddressInfo).port
  const registered = await luna.inject({
    method: 'POST',
    url: `/registry/v1/instances/orders:127.0.0.1:${servicePort}`,
    headers: AUTH,
    payload: { name: 'orders', version: '1.4.2', status: 'OK', url: `http://127.0.0.1:${servicePort}/`, metadata: { zone: 'eu-1', metrics_path: '/internal/metrics' } }
  })
  t.equal(registered.statusCode, 201)

  const prometheus = await startPrometheus(t, `
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: luna
    metrics_path: /registry/v1/metrics
    basic_auth: { username: admin, password: ${PASSWORD} }
    static_configs:
      - targets: ['${lunaAddress}']
  - job_name: services
    http_sd_configs:
      - url: http://${lunaAddress}/registry/v1/sd/prometheus
        refresh_interval: 1s
        basic_auth: { username: admin, password: ${PASSWORD} }
    relabel_configs:
      - source_labels: [__meta_luna_service]
        target_label: service
      - source_labels: [__meta_luna_metadata_zone]
        target_label: zone
`)
  if (prometheus === undefined) return

  const up = await until('Prometheus scrapes the discovered instance', async () => {
    const found = await prometheus.query('up{job="services"}')
    return found.length === 1 && found[0]!.value[1] === '1' ? found[0]! : undefined
  }, 30_000)
  t.match(up.metric, { instance: `127.0.0.1:${servicePort}`, service: 'orders', zone: 'eu-1' }, 'labelled from Luna\'s discovery')
  const [taken] = await prometheus.query('orders_orders_taken_total')
  t.equal(taken?.value[1], '42', 'at the path its metadata names')

  const instances = await until('Prometheus scrapes Luna\'s own metrics', async () => {
    const found = await prometheus.query('luna_instances{job="luna"}')
    return found.length === 2 ? found : undefined
  }, 30_000)
  t.same(Object.fromEntries(instances.map((sample) => [sample.metric['status'], sample.value[1]])), { OK: '1', DOWN: '0' })
  const [lunaUp] = await prometheus.query('up{job="luna"}')
  t.equal(lunaUp?.value[1], '1', 'Luna\'s /metrics, with basic auth')

  // Leaving the registry leaves Prometheus's targets too.
  await luna.inject({ method: 'DELETE', url: `/registry/v1/instances/orders:127.0.0.1:${servicePort}`, headers: AUTH })
  await until('the instance is no longer a target', async () =>
    (await prometheus.targets()).every((target) => target.labels['job'] !== 'services') || undefined, 30_000)
  t.pass('dropped from discovery')
})
