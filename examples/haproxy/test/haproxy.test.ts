import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildServer } from 'luna-server'
import { freePort } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'

const HAPROXY = process.env['LUNA_TEST_HAPROXY'] ?? '/usr/sbin/haproxy'
const exampleDir = fileURLToPath(new URL('..', import.meta.url))
const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

/** A GET on a connection of its own: which server answered and what path it was given. */
async function get (url: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    request(url, { agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    }).on('error', reject).end()
  })
}

t.test('luna-server --render keeps a real HAProxy in step with the registry', async (t) => {
  if (!existsSync(HAPROXY)) {
    const reason = `HAProxy is not installed at ${HAPROXY}`
    if (process.env['CI'] === 'true') t.fail(`${reason}: CI must run this test`)
    else t.skip(`${reason}; install Debian's haproxy package`, () => {})
    return
  }
  const dir = await mkdtemp(join(tmpdir(), 'luna-example-haproxy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await copyFile(join(exampleDir, 'haproxy.cfg'), join(dir, 'haproxy.cfg'))
  const files = `-f ${dir}/haproxy.cfg -f ${dir}/luna.cfg`
  const port = await freePort()

  const upstreams = await Promise.all(['a', 'b'].map(async (name) => {
    const server = createServer((req, res) => res.end(`${name} ${req.url}`)).listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.teardown(() => new Promise((resolve) => server.close(resolve)))
    return (server.address() as AddressInfo).port
  }))

  // The check decides: a file HAProxy rejects is put back. Reloading an HAProxy that is not
  // running yet is no reason to reject the file.
  const luna = buildServer({
    logLevel: 'silent',
    render: [{
      template: join(exampleDir, 'haproxy.eta'),
      output: join(dir, 'luna.cfg'),
      command: `${HAPROXY} -c -q ${files} && if [ -e ${dir}/haproxy.pid ]; then kill -USR2 $(cat ${dir}/haproxy.pid); fi`
    }],
    nginxListen: `127.0.0.1:${port}`
  })
  t.teardown(() => luna.close())
  await luna.ready()

  const haproxy = spawn(HAPROXY, ['-W', '-db', '-p', join(dir, 'haproxy.pid'), ...files.split(' ')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  haproxy.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  t.teardown(async () => {
    const exited = once(haproxy, 'exit')
    haproxy.kill('SIGTERM')
    await exited
  })
  const gateway = `http://127.0.0.1:${port}/gateway/services`
  await until('HAProxy answers', async () => (await get(`${gateway}/orders/`).catch(() => undefined))?.status === 404 || undefined, 10_000)

  for (const [i, upstream] of upstreams.entries()) {
    const registered = await luna.inject({
      method: 'POST',
      url: `/registry/v1/instances/orders:127.0.0.1:${upstream}`,
      headers: AUTH,
      payload: { name: 'orders', version: '1', status: 'OK', url: `http://127.0.0.1:${upstream}/api/`, balancerOptions: { weight: i === 0 ? 1 : 3 } }
    })
    t.equal(registered.statusCode, 201)
  }
  await until('HAProxy routes orders', async () => (await get(`${gateway}/orders/items/1?x=1`)).status === 200 || undefined, 5000)
  // The worker a reload replaced may still take a connection for a moment: wait until it is gone.
  const children = (): string[] => readFileSync(`/proc/${haproxy.pid}/task/${haproxy.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
  await until('HAProxy runs one worker', () => children().length === 1 || undefined)
  const counts: Record<string, number> = {}
  for (let i = 0; i < 40; i++) {
    const { body } = await get(`${gateway}/orders/items/1?x=1`)
    t.match(body, /^[ab] \/api\/items\/1\?x=1$/)
    counts[body[0]!] = (counts[body[0]!] ?? 0) + 1
  }
  t.same(counts, { a: 10, b: 30 }, 'by weight')
  t.equal((await get(`${gateway}/orders`)).body.slice(2), '/api/')

  await luna.inject({ method: 'PUT', url: `/registry/v1/instances/orders:127.0.0.1:${upstreams[0]}`, headers: AUTH, payload: { name: 'orders', version: '1', status: 'DOWN', url: `http://127.0.0.1:${upstreams[0]}/api/` } })
  await luna.inject({ method: 'PUT', url: `/registry/v1/instances/orders:127.0.0.1:${upstreams[1]}`, headers: AUTH, payload: { name: 'orders', version: '1', status: 'DOWN', url: `http://127.0.0.1:${upstreams[1]}/api/` } })
  await until('a service with no routable instance answers 503', async () => (await get(`${gateway}/orders/x`)).status === 503 || undefined, 3000)
  t.match(await readFile(join(dir, 'luna.cfg'), 'utf8'), /use_backend luna_unavailable if \{ path_beg \/gateway\/services\/orders\/ \}/)
  t.notMatch(output, /ALERT/, 'HAProxy found nothing wrong')
})
