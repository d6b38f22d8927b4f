import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { DEFAULT_PREFIX } from 'luna-registry'
import { ConfigError, HELP, parseConfig, type Env, type ServerSettings } from './config.js'
import { buildServer } from './server.js'

async function version (): Promise<string> {
  // `../package.json` is the package root from src/ and from dist/ alike.
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function oneLine (error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')
}

/** Where a person or a client should point: a wildcard address is not somewhere to browse to. */
function panelUrl (app: FastifyInstance, host: string): string {
  const { port } = app.server.address() as AddressInfo
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}${DEFAULT_PREFIX}/services/`
}

/** Once the connections are closed, how long the store gets to close before the process gives up. */
const STORE_CLOSE_GRACE = 2000

/**
 * On SIGTERM or SIGINT (or an uncaught error): stop accepting connections, let requests in flight
 * finish for up to `closeTimeout` ms, then close every connection still open, close the store and
 * exit 0 (1 after an error). A second signal exits 1 at once.
 */
function closeOnSignals (app: FastifyInstance, closeTimeout: number): { uninstall: () => void } {
  return closeWithGrace({ delay: closeTimeout + STORE_CLOSE_GRACE, logger: app.log }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'uncaught error, closing')
    else app.log.info({ signal }, `${signal ?? 'close'} received, closing`)
    // A client that stalls, or reads its answer slowly, would keep the close waiting for as long
    // as it likes: past the deadline its connection is closed under it.
    const deadline = setTimeout(() => { app.server.closeAllConnections() }, closeTimeout)
    try {
      await app.close()
    } finally {
      clearTimeout(deadline)
    }
  })
}

/**
 * What is wrong with the store URL, as luna-store-redis reads it, or `undefined`: a URL it cannot
 * use stops the server at once with exit code 2, like any bad setting. Without the package, the
 * server says so when it opens the store.
 */
async function storeProblem (store: string): Promise<string | undefined> {
  if (store === 'memory') return undefined
  let module: typeof import('luna-store-redis')
  try {
    module = await import('luna-store-redis')
  } catch {
    return undefined
  }
  try {
    module.parseRedisUrl(store)
    return undefined
  } catch (error) {
    return (error as Error).message.replace(/^luna-store-redis: /, '')
  }
}

async function start (settings: ServerSettings): Promise<void> {
  const app = buildServer(settings)
  // Listening for signals first: one that arrives while the server starts still closes it cleanly.
  const closer = closeOnSignals(app, settings.closeTimeout)
  try {
    await app.listen({ port: settings.port, host: settings.host })
  } catch (error) {
    process.stderr.write(`luna-server: cannot listen on ${settings.host}:${settings.port}: ${oneLine(error)}\n`)
    process.exitCode = 1
    // Otherwise the handler would close the server again as the process ends, and exit 0.
    closer.uninstall()
    await app.close()
    return
  }
  // A gateway-only replica has no panel: its address is the gateway's.
  const follower = settings.registryUrl !== ''
  const url = follower ? new URL('/gateway/services/', panelUrl(app, settings.host)).href : panelUrl(app, settings.host)
  // `url` as a field of its own lets scripts and tests find the address in the JSON log.
  app.log.info({ url }, `Luna ${follower ? 'gateway' : 'registry'} listening on ${url}`)
}

/**
 * The `luna-server` command. Exit codes: 0 after help, version or a graceful shutdown; 1 when
 * the server cannot listen; 2 for a bad setting.
 */
export async function main (argv: string[], env: Env): Promise<void> {
  let config
  try {
    config = parseConfig(argv, env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`luna-server: ${error.message}\n`)
    process.exitCode = 2
    return
  }
  if (config.action === 'help') process.stdout.write(HELP)
  else if (config.action === 'version') process.stdout.write(`${await version()}\n`)
  else {
    const problem = await storeProblem(config.settings.store)
    if (problem !== undefined) {
      process.stderr.write(`luna-server: LUNA_STORE (--store): ${problem}\n`)
      process.exitCode = 2
      return
    }
    await start(config.settings)
  }
}
