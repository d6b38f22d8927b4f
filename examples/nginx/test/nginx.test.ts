import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { NGINX, requireNginx } from '../../../test-support/nginx.js'
import { exitWithin, runNode } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'
import { startEdge } from '../src/app.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
// A fresh node process can take seconds to start on a busy machine.
const STARTUP = 20_000

/**
 * The JSON `url` answers with, once it answers 200: right after a reload nginx's previous worker
 * may still take a connection and answer by the configuration before.
 */
async function json (url: string): Promise<unknown> {
  return await until(`${url} answers 200`, async () => {
    const response = await fetch(url)
    return response.status === 200 ? await response.json() as unknown : undefined
  })
}

t.test('run for real: nginx serves both services at the gateway\'s addresses, and stops with it', async (t) => {
  if (!requireNginx(t)) return
  const proc = runNode(t, 'dist/index.js', exampleDir, { PORT: '0', NGINX_PORT: '0', NGINX })
  const nginx = await until('the example prints nginx\'s address', () => /nginx at (http:\/\/\S+), including (\S+)\/luna\.conf/.exec(proc.output()) ?? undefined, STARTUP)
  const [, origin, dir] = nginx as unknown as [string, string, string]
  const pid = Number(readFileSync(`${dir}/nginx.pid`, 'utf8'))

  t.same(await json(`${origin}/gateway/services/hello/greeting?lang=en`), { service: 'hello', path: '/greeting?lang=en' })
  t.same(await json(`${origin}/gateway/services/clock/now`), { service: 'clock', path: '/v1/now' }, 'below the instance\'s /v1/')
  t.equal((await fetch(`${origin}/gateway/services/nobody/`)).status, 404)

  proc.child.kill('SIGTERM')
  t.same(await exitWithin(proc, 10_000), [0, null], 'exits 0 on SIGTERM')
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'nginx stopped with it')
  t.notOk(existsSync(dir), 'its directory is removed')
})

t.test('a service that leaves is gone from nginx within a second or two', async (t) => {
  if (!requireNginx(t)) return
  const edge = await startEdge({ port: 0, nginxPort: 0, nginx: NGINX })
  t.teardown(() => edge.close())
  await edge.stop('clock')
  await until('nginx answers 404 for clock', async () => (await fetch(`${edge.nginx}/gateway/services/clock/now`)).status === 404 || undefined, 3000)
  t.equal((await fetch(`${edge.nginx}/gateway/services/hello/`)).status, 200)
  t.match(readFileSync(`${edge.dir}/luna.conf`, 'utf8'), /upstream luna_1_hello \{/)
})
