import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './redis-server.js'
import { until } from './until.js'

export const NGINX = process.env['LUNA_TEST_NGINX'] ?? '/usr/sbin/nginx'

interface Tap {
  teardown: (fn: () => unknown) => void
  fail: (message: string) => void
  skip: (message: string, fn: () => void) => void
}

/**
 * Whether nginx is installed. In CI a missing nginx fails the test; elsewhere the test is
 * skipped with the reason, never silently.
 */
export function requireNginx (t: Tap): boolean {
  if (existsSync(NGINX)) return true
  const reason = `nginx is not installed at ${NGINX}`
  if (process.env['CI'] === 'true') t.fail(`${reason}: CI must run these tests`)
  else t.skip(`${reason}; install Debian's nginx package`, () => {})
  return false
}

/**
 * A private nginx: its prefix, configuration, pid, error log and temporary files in a directory
 * of the test's own, one worker, and Luna's file included in `http {}`, as an operator's
 * nginx.conf would. `test` and `reload` are the commands Luna runs for this nginx.
 */
export class PrivateNginx {
  readonly dir: string
  /** The file Luna writes and this nginx includes. */
  readonly include: string
  /** Where Luna's server listens: `127.0.0.1:port`. */
  readonly listen: string
  readonly url: string
  /** Every reload the `reload` command asked for, one line each. */
  readonly reloads: string
  #child: ChildProcess | undefined
  #output = ''

  private constructor (dir: string, port: number) {
    this.dir = dir
    this.include = join(dir, 'luna.conf')
    this.listen = `127.0.0.1:${port}`
    this.url = `http://127.0.0.1:${port}`
    this.reloads = join(dir, 'reloads')
  }

  /** A directory and an nginx.conf for it; nginx itself starts with `start()`. */
  static async create (t: Tap): Promise<PrivateNginx> {
    const dir = await mkdtemp(join(tmpdir(), 'luna-nginx-'))
    const nginx = new PrivateNginx(dir, await freePort())
    t.teardown(async () => {
      await nginx.stop()
      await rm(dir, { recursive: true, force: true })
    })
    await writeFile(join(dir, 'nginx.conf'), `
daemon off;
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
  include ${nginx.include};
}
`)
    return nginx
  }

  get #args (): string {
    return `-p ${this.dir} -c ${this.dir}/nginx.conf -e ${this.dir}/error.log`
  }

  /** `nginx -t` for this nginx. */
  get test (): string {
    return `${NGINX} ${this.#args} -t -q`
  }

  /** `nginx -s reload` for this nginx, counted in `reloads`. */
  get reload (): string {
    return `echo reload >> ${this.reloads} && ${NGINX} ${this.#args} -s reload`
  }

  /** What nginx wrote to its standard output and error. */
  get output (): string {
    return this.#output
  }

  /** Starts the master process in the foreground and waits until it answers. */
  async start (): Promise<void> {
    const child = spawn(NGINX, ['-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-e', join(this.dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { this.#output += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { this.#output += chunk })
    await until(`nginx answers on ${this.listen}`, async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${this.#output}`)
      return await get(`${this.url}/`).then(() => true, () => undefined)
    }, 10_000)
  }

  /** The worker processes the master runs now: the current one, and any a reload is replacing. */
  workers (): number[] {
    const pid = this.#child?.pid
    if (pid === undefined) return []
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  }

  /**
   * Waits until the master runs one worker. Once a request has been answered by the configuration
   * a reload brought in, this means the worker of the one before has exited: until then it may
   * still take a new connection and answer it the old way.
   */
  async settled (): Promise<void> {
    await until('the worker replaced by nginx\'s reload exits', () => this.workers().length === 1 || undefined)
  }

  /** A fast shutdown: the master stops its workers before it exits (a SIGKILL would orphan them). */
  async stop (): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

/** A GET on a connection of its own, closed after it: nginx workers replaced by a reload never answer it. */
export async function get (url: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
