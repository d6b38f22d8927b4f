import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, HOST, keepOutput, stopChild, track, waitUntilAnswering, type ServerProcess } from './processes.js'

export const NGINX = process.env['BENCH_NGINX'] ?? '/usr/sbin/nginx'

export function nginxAvailable (): boolean {
  return existsSync(NGINX)
}

/** One worker, in the foreground, every file it writes in `dir`; the `http {` block opened. */
function head (dir: string): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
`
}

/**
 * nginx proxying `/gateway/services/orders/` to the upstream as the gateway does (the rest of
 * the path below the upstream's root, X-Forwarded-*), with kept-alive upstream connections. One
 * process (no master, one worker's work), in the foreground, its prefix, pid, logs and temporary
 * files in a directory of its own; the outside anchor of the gateway suite. Kept-alive connections
 * are never closed after a number of requests, as Node's are not.
 */
export async function startNginx (upstreamPort: number): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'luna-bench-nginx-'))
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  await writeFile(conf, `
master_process off;
${head(dir)}  # nginx closes a kept-alive connection after 1 000 requests by default, on both sides; Node
  # does not: the load generator would count each close as an error.
  keepalive_requests 1000000;
  upstream orders {
    server ${HOST}:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen ${HOST}:${port};
    location /gateway/services/orders/ {
      proxy_pass http://orders/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
`)
  return await runNginx('nginx', dir, ['-p', dir, '-c', conf], port, '/gateway/services/orders/', 200)
}

/** A directory and an nginx.conf that includes the file luna-server writes in nginx mode. */
export interface NginxMode {
  dir: string
  /** The file luna-server writes: `--nginx-config`. */
  include: string
  /** `--nginx-listen`. */
  listen: string
  /** `--nginx-test` and `--nginx-reload` for this nginx. */
  test: string
  reload: string
  /** Starts the master (and its worker) in the foreground, once `include` exists. */
  start: () => Promise<ServerProcess>
}

/**
 * nginx as an operator would run it in front of Luna: its own nginx.conf (one worker, kept-alive
 * connections never closed after a number of requests, as in `startNginx`) with luna-server's
 * file included in `http {}`. A master process, so that luna-server can reload it.
 */
export async function prepareNginxMode (): Promise<NginxMode> {
  const dir = await mkdtemp(join(tmpdir(), 'luna-bench-nginx-mode-'))
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  const include = join(dir, 'luna.conf')
  await writeFile(conf, `
${head(dir)}  keepalive_requests 1000000;
  include ${include};
}
`)
  const args = `-p ${dir} -c ${conf} -e ${dir}/error.log`
  return {
    dir,
    include,
    listen: `${HOST}:${port}`,
    test: `${NGINX} ${args} -t -q`,
    reload: `${NGINX} ${args} -s reload`,
    start: async () => await runNginx('nginx (nginx mode)', dir, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], port, '/gateway/services/', 404)
  }
}

/**
 * nginx in the foreground with `args`, as a server of the bench's: its directory removed when it
 * stops; resolved once `path` answers `status` on `port`.
 */
async function runNginx (name: string, dir: string, args: string[], port: number, path: string, status: number): Promise<ServerProcess> {
  const child = spawn(NGINX, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  const output: string[] = []
  keepOutput(child, output)
  const server: ServerProcess = {
    name,
    url: `http://${HOST}:${port}`,
    child,
    output,
    stop: async () => {
      const code = await stopChild(child)
      await rm(dir, { recursive: true, force: true })
      return code
    }
  }
  try {
    await waitUntilAnswering(server, path, (answered) => answered === status)
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

/** nginx's worker, whose CPU time is the work: the master only reads its configuration. */
export function nginxWorker (master: number | undefined): number | undefined {
  if (master === undefined) return undefined
  try {
    const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    return children.length === 1 ? Number(children[0]) : undefined
  } catch {
    return undefined
  }
}
