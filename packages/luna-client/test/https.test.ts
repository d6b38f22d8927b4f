import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { buildServer } from 'luna-server'
import { createLunaClient, LunaNetworkError } from '../src/index.js'

const credentials = { username: 'ops', password: 's3cret' }

/** A self-signed certificate for 127.0.0.1, made by openssl: its own authority. */
function certificate (t: Test): { cert: Buffer, key: Buffer } | undefined {
  const dir = t.testdir({})
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=luna-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' })
  if (made.error !== undefined || made.status !== 0) {
    const reason = `openssl could not make a certificate: ${made.error?.message ?? made.stderr}`
    if (process.env['CI'] === 'true') t.fail(reason)
    else t.skip(reason, () => {})
    return undefined
  }
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }
}

t.test('luna-client over HTTPS, trusting the registry\'s own certificate', async (t) => {
  const tls = certificate(t)
  if (tls === undefined) return
  const app = buildServer({ ...credentials, tls, logLevel: 'silent' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `https://ops:s3cret@127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const client = createLunaClient({ url, ca: tls.cert.toString('utf8') })
  t.teardown(async () => { await client.close() })
  const watcher = client.watch('orders')
  t.same(await watcher.ready(), [], 'the event stream, over HTTPS')
  const orders = client.register({ name: 'orders', version: '1.0.0', status: 'OK', url: 'http://127.0.0.1:8080/' }, { heartbeatInterval: 60_000 })
  await orders.ready()
  t.match(await client.services(), [{ name: 'orders', instancesOnline: 1 }])
  t.match(await client.pick('orders'), { instanceId: 'orders:127.0.0.1:8080' })
  t.equal(await client.instance('orders:127.0.0.1:9999'), undefined, 'a 404 is read as an answer')
  await orders.deregister()
  t.same(await client.services(), [], 'the DELETE and its 204, without a body')

  const untrusting = createLunaClient(url)
  const error = await untrusting.services().catch((error: unknown) => error)
  t.ok(error instanceof LunaNetworkError, 'without the CA, the certificate is refused')
  t.match(error, { code: 'LUNA_CLIENT_NETWORK_ERROR', message: /registry unreachable: .*self[- ]signed/i })
  t.notMatch((error as Error).message, /s3cret/)
  const wrongCa = createLunaClient({ url, ca: certificate(t)!.cert })
  await t.rejects(wrongCa.services(), { code: 'LUNA_CLIENT_NETWORK_ERROR' }, 'another authority is not trusted either')
})

t.test('a registry over HTTPS that does not answer in time is a timeout', async (t) => {
  const tls = certificate(t)
  if (tls === undefined) return
  const silent = createServer(tls, () => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.closeAllConnections(); silent.close() })
  const client = createLunaClient({ url: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, ca: [tls.cert], timeout: 200 })
  await t.rejects(client.pick('orders'), { name: 'LunaNetworkError', code: 'LUNA_CLIENT_TIMEOUT', message: /no answer within 200 ms/ })
})

t.test('ca and fetch do not go together', async (t) => {
  t.throws(() => createLunaClient({ url: 'https://127.0.0.1:1', ca: 'x', fetch: globalThis.fetch }), { name: 'TypeError', message: /ca and fetch cannot be used together/ })
})
