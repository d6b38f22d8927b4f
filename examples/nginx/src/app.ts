import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLunaClient, type LunaClient, type Registration } from 'luna-client'
import { buildServer } from 'luna-server'

export interface EdgeOptions {
  /** luna-server's port. Default 4000; 0 picks a free one. */
  port?: number
  /** The port nginx serves the services on. Default 8080; 0 picks a free one. */
  nginxPort?: number
  /** The nginx binary. Default `/usr/sbin/nginx`. */
  nginx?: string
}

export interface Edge {
  /** luna-server's origin: the registry and the panel. */
  luna: string
  /** nginx's origin: the services are under `/gateway/services/`. */
  nginx: string
  /** The directory holding nginx.conf, the file Luna writes (luna.conf), the pid and the logs. */
  dir: string
  /** Deregisters a service's instance and stops it. */
  stop: (service: 'hello' | 'clock') => Promise<void>
  close: () => Promise<void>
}

const HOST = '127.0.0.1'

async function freePort (): Promise<number> {
  const server = createServer().listen(0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/**
 * The operator's nginx.conf: the same as a system one, but with everything (pid, logs, temporary
 * files) in `dir` so that it runs without root. Luna's file is included inside `http {}`.
 */
function nginxConf (dir: string): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    include ${dir}/luna.conf;
}
`
}

/** A service that says who it is and what path it was asked for. */
async function startService (name: string): Promise<FastifyInstance> {
  const app = Fastify()
  app.get('/*', async (request) => ({ service: name, path: request.url }))
  await app.listen({ port: 0, host: HOST })
  return app
}

async function answers (url: string): Promise<boolean> {
  try {
    return (await fetch(url)).status === 200
  } catch {
    return false
  }
}

async function waitFor (what: string, check: () => Promise<boolean>, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * luna-server in nginx mode, nginx including the file it writes, and two services registered
 * with luna-client: `hello` at its root and `clock` below `/v1/`.
 */
export async function startEdge (options: EdgeOptions = {}): Promise<Edge> {
  const nginx = options.nginx ?? '/usr/sbin/nginx'
  const nginxPort = options.nginxPort === undefined ? 8080 : options.nginxPort === 0 ? await freePort() : options.nginxPort
  const dir = await mkdtemp(join(tmpdir(), 'luna-example-nginx-'))
  await writeFile(join(dir, 'nginx.conf'), nginxConf(dir))
  const args = `-p ${dir} -c ${dir}/nginx.conf -e ${dir}/error.log`

  // Luna writes luna.conf before it listens, so nginx finds it when it starts.
  const luna = buildServer({
    logLevel: 'warn',
    nginxConfig: join(dir, 'luna.conf'),
    nginxListen: `${HOST}:${nginxPort}`,
    nginxTest: `${nginx} ${args} -t -q`,
    nginxReload: `${nginx} ${args} -s reload`
  })
  await luna.listen({ port: options.port ?? 4000, host: HOST })
  const lunaOrigin = `http://${HOST}:${(luna.server.address() as AddressInfo).port}`
  const nginxOrigin = `http://${HOST}:${nginxPort}`

  const child: ChildProcess = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'inherit' })
  const exited = once(child, 'exit')
  await waitFor('nginx answers', async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`)
    return await fetch(nginxOrigin).then(() => true, () => false)
  })

  const client: LunaClient = createLunaClient(`http://admin:@${HOST}:${new URL(lunaOrigin).port}`)
  const services = { hello: await startService('hello'), clock: await startService('clock') }
  const registrations = new Map<string, Registration>()
  for (const [name, app] of Object.entries(services)) {
    const { port } = app.server.address() as AddressInfo
    const registration = client.register({ name, version: '1.0.0', status: 'OK', url: `http://${HOST}:${port}${name === 'clock' ? '/v1/' : '/'}` })
    registrations.set(name, registration)
    await registration.ready()
  }
  await waitFor('nginx routes both services', async () =>
    await answers(`${nginxOrigin}/gateway/services/hello/`) && await answers(`${nginxOrigin}/gateway/services/clock/`))

  return {
    luna: lunaOrigin,
    nginx: nginxOrigin,
    dir,
    stop: async (service) => {
      await registrations.get(service)?.deregister()
      await services[service].close()
    },
    close: async () => {
      await client.close()
      await Promise.all(Object.values(services).map(async (app) => await app.close()))
      await luna.close()
      // A fast shutdown: the master stops its workers before it exits.
      child.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    }
  }
}
