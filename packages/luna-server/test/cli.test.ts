import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { endedWithin, parseHead, rawConnection } from '../../../test-support/raw-http.js'
import { within } from '../../../test-support/until.js'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(PACKAGE, 'bin', 'luna-server.js')
const { version } = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }
const PASSWORD = 'c0rrect-h0rse-battery'
// A bound on waits that would otherwise hang, not a measurement: a child can take several
// seconds to start on a loaded machine.
const WAIT = 30_000
// tap's coverage hook (NODE_OPTIONS) makes each child start several times slower; these tests
// are about what the process does, and the LUNA_* variables are each test's own.
const INHERITED = Object.fromEntries(Object.entries(process.env)
  .filter(([key]) => !key.startsWith('LUNA_') && !key.startsWith('_TAPJS_') && key !== 'NODE_OPTIONS'))

interface Cli {
  stdout: () => string
  stderr: () => string
  /** Calls `listener` after each chunk of standard output. */
  onStdout: (listener: () => void) => void
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>
  kill: (signal: NodeJS.Signals) => void
}

/** `node bin/luna-server.js …` from the package folder. */
function launch (t: Test, args: string[], env: Record<string, string> = {}, bin = BIN): Cli {
  const child = spawn(process.execPath, [bin, ...args], { cwd: PACKAGE, env: { ...INHERITED, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    onStdout: (listener) => child.stdout.on('data', listener),
    exited,
    kill: (signal) => child.kill(signal)
  }
}

async function run (t: Test, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const cli = launch(t, args, env)
  const code = await within(`luna-server ${args.join(' ')}`, cli.exited, WAIT)
  return { code, stdout: cli.stdout(), stderr: cli.stderr() }
}

/** The address from the JSON log line that announces the registry. */
async function listeningUrl (cli: Cli): Promise<URL> {
  const found = new Promise<URL>((resolve, reject) => {
    cli.onStdout(() => {
      // The last piece may be a line still being written.
      for (const line of cli.stdout().split('\n').slice(0, -1)) {
        const { url } = JSON.parse(line) as { url?: string }
        if (url !== undefined) resolve(new URL(url))
      }
    })
    cli.exited.then((code) => reject(new Error(`exited with ${code}: ${cli.stderr()}`)), reject)
  })
  return await within('the listening line', found, WAIT)
}

t.test('--help prints the usage and exits 0', async (t) => {
  const { code, stdout, stderr } = await run(t, ['--help'])
  t.equal(code, 0)
  t.match(stdout, /^Usage: luna-server \[options\]/)
  t.match(stdout, /--port <port>\s+LUNA_PORT\s+4000/)
  t.equal(stderr, '')
})

t.test('--version prints the package version', async (t) => {
  const { code, stdout } = await run(t, ['--version'])
  t.equal(code, 0)
  t.equal(stdout, `${version}\n`)
})

t.test('a bad flag exits 2 with one line on stderr naming it', async (t) => {
  const { code, stdout, stderr } = await run(t, ['--port', 'abc'], { LUNA_AUTH_PASSWORD: PASSWORD })
  t.equal(code, 2)
  t.equal(stdout, '')
  t.match(stderr, /^luna-server: LUNA_PORT \(--port\) must be an integer from 0 to 65535, got "abc"\n$/)
  t.equal(stderr.split('\n').length, 2, 'exactly one line')
  t.notMatch(stderr, PASSWORD)
})

t.test('a bad variable exits 2 naming it', async (t) => {
  const { code, stderr } = await run(t, [], { LUNA_LOG_LEVEL: 'loud' })
  t.equal(code, 2)
  t.match(stderr, /^luna-server: LUNA_LOG_LEVEL \(--log-level\) .*"loud"\n$/)
})

t.test('a store URL luna-store-redis cannot use exits 2 naming what is wrong, never the password', async (t) => {
  const { code, stderr } = await run(t, ['--store', 'redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379'])
  t.equal(code, 2)
  t.equal(stderr, 'luna-server: LUNA_STORE (--store): a redis+sentinel:// URL ends with /masterName or /masterName/db\n')
  const timeout = await run(t, [], { LUNA_STORE: 'redis+cluster://h:1?waitTimeout=soon' })
  t.equal(timeout.code, 2)
  t.match(timeout.stderr, /^luna-server: LUNA_STORE \(--store\): the store URL's parameter waitTimeout must be a positive whole number of milliseconds, not "soon"\n$/)
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`serves the registry and closes on ${signal}`, async (t) => {
    const cli = launch(t, ['--port', '0', '--host', '127.0.0.1', '--username', 'ops'], { LUNA_AUTH_PASSWORD: PASSWORD })
    const url = await listeningUrl(cli)
    t.equal(url.pathname, '/registry/v1/services/')
    t.equal(url.hostname, '127.0.0.1')
    t.not(url.port, '0')

    const health = await fetch(new URL('/healthz', url))
    t.equal(health.status, 200)
    t.equal(await health.text(), '{"status":"ok"}')

    const authorization = `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`
    const services = await fetch(new URL('/registry/v1/services', url), { headers: { authorization } })
    t.equal(services.status, 200)
    t.same(await services.json(), [])

    cli.kill(signal)
    t.equal(await within(`exit after ${signal}`, cli.exited, WAIT), 0)
    t.notMatch(cli.stdout(), PASSWORD, 'the password is not logged')
    t.notMatch(cli.stdout(), authorization.slice('Basic '.length), 'nor the header carrying it')
    t.equal(cli.stderr(), '')
  })
}

t.test('LUNA_REQUEST_TIMEOUT cuts an authenticated request whose body never comes', async (t) => {
  const cli = launch(t, ['--port', '0', '--host', '127.0.0.1'], { LUNA_AUTH_PASSWORD: PASSWORD, LUNA_REQUEST_TIMEOUT: '300ms' })
  const url = await listeningUrl(cli)
  const authorization = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`
  const connection = await rawConnection(t, Number(url.port), 'POST /registry/v1/instances/x:h:1 HTTP/1.1\r\nHost: x\r\n' +
    `Authorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`)
  t.equal(parseHead(await endedWithin(connection, 5000)).status, 408)
  cli.kill('SIGTERM')
  t.equal(await within('exit after SIGTERM', cli.exited, WAIT), 0)
})

/** Resolves once the server has logged `message`: it has taken the signal in. */
async function logged (cli: Cli, message: string): Promise<void> {
  await within(message, new Promise<void>((resolve) => {
    const look = (): void => { if (cli.stdout().includes(`"msg":"${message}"`)) resolve() }
    cli.onStdout(look)
    look()
  }), WAIT)
}

t.test('on SIGTERM a request in flight finishes, a stalled one is cut at LUNA_CLOSE_TIMEOUT, and the exit is 0', async (t) => {
  const cli = launch(t, ['--port', '0', '--host', '127.0.0.1'], { LUNA_AUTH_PASSWORD: PASSWORD, LUNA_CLOSE_TIMEOUT: '2s', LUNA_LOG_LEVEL: 'debug' })
  const port = Number((await listeningUrl(cli)).port)
  const authorization = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`
  const body = JSON.stringify({ name: 'orders', version: '1.0.0', status: 'OK', url: 'http://h:1/' })
  const head = (id: string): string => `POST /registry/v1/instances/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  // Both are on their way in when the signal comes; one goes on, the other never does.
  const inFlight = await rawConnection(t, port, `${head('orders:h:1')}${body.slice(0, 10)}`)
  const stalled = await rawConnection(t, port, `${head('orders:h:2')}${body.slice(0, 10)}`)
  await within('both requests taken in', new Promise<void>((resolve) => {
    cli.onStdout(() => { if (cli.stdout().split('"msg":"incoming request"').length === 3) resolve() })
  }), WAIT)
  cli.kill('SIGTERM')
  await logged(cli, 'SIGTERM received, closing')
  inFlight.socket.write(body.slice(10))
  t.equal(parseHead(await endedWithin(inFlight, WAIT)).status, 201, 'the request in flight is answered')
  t.equal(await within('exit with a stalled connection open', cli.exited, WAIT), 0)
  t.equal(await endedWithin(stalled, 1000), '', 'the stalled connection was closed, unanswered')
  t.equal(cli.stderr(), '')
})

t.test('a second signal while closing exits 1 at once', async (t) => {
  const cli = launch(t, ['--port', '0', '--host', '127.0.0.1'], { LUNA_CLOSE_TIMEOUT: '1h' })
  const port = Number((await listeningUrl(cli)).port)
  await rawConnection(t, port, 'POST /registry/v1/instances/x:h:1 HTTP/1.1\r\nHost: x\r\n')
  cli.kill('SIGTERM')
  await logged(cli, 'SIGTERM received, closing')
  cli.kill('SIGINT')
  t.equal(await within('exit on the second signal', cli.exited, WAIT), 1)
})

t.test('a port in use exits 1 with one line on stderr', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const { port } = blocker.address() as AddressInfo
  const { code, stderr } = await run(t, ['--port', String(port), '--host', '127.0.0.1'])
  t.equal(code, 1)
  t.match(stderr, new RegExp(`^luna-server: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`))
})

t.test('without a build the shim says how to make one', async (t) => {
  const dir = t.testdir({
    'package.json': JSON.stringify({ type: 'module' }),
    bin: { 'luna-server.js': readFileSync(BIN, 'utf8') }
  })
  const cli = launch(t, ['--help'], {}, join(dir, 'bin', 'luna-server.js'))
  t.equal(await within('the shim without dist', cli.exited, WAIT), 1)
  t.match(cli.stderr(), /^luna-server: .*npx pnpm@10\.34\.9 build\n$/)
  t.equal(cli.stdout(), '')
})
