import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import closeWithGrace from 'close-with-grace'
import type { Server as HttpsServer } from 'node:https'
import { text } from 'node:stream/consumers'
import type { FastifyInstance } from 'fastify'
import { DEFAULT_PREFIX, hashPassword, type LunaUsers } from 'luna-registry'
import { loadUsersFile, readTlsFiles, reloadUsersFile, type TlsFiles } from './access-files.js'
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
function panelUrl (app: FastifyInstance, host: string, https: boolean): string {
  const { port } = app.server.address() as AddressInfo
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `${https ? 'https' : 'http'}://${shown}:${port}${DEFAULT_PREFIX}/services/`
}

/** Whether `host` is reached from this machine only. */
function loopbackOnly (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

/**
 * On SIGHUP, the users file and the certificate files are read again. What cannot be read or
 * breaks a rule is logged and leaves the running ones in place; connections are never dropped.
 */
function reloadOnHangup (app: FastifyInstance, settings: ServerSettings, users: LunaUsers | undefined): void {
  const reload = async (): Promise<void> => {
    if (users !== undefined) {
      try {
        await reloadUsersFile(users, settings.usersFile)
        app.log.info({ users: users.size }, `SIGHUP: ${settings.usersFile} reloaded`)
      } catch (error) {
        app.log.error(`SIGHUP: users kept as they were: ${oneLine(error)}`)
      }
    }
    if (settings.tlsCert !== '') {
      try {
        const tls = await readTlsFiles(settings.tlsCert, settings.tlsKey)
        ;(app.server as unknown as HttpsServer).setSecureContext(tls)
        app.log.info(`SIGHUP: ${settings.tlsCert} and ${settings.tlsKey} reloaded`)
      } catch (error) {
        app.log.error(`SIGHUP: certificate kept as it was: ${oneLine(error)}`)
      }
    }
  }
  const onHangup = (): void => { reload().catch((error: unknown) => { app.log.error({ err: error }, 'SIGHUP: reload failed') }) }
  process.on('SIGHUP', onHangup)
  app.addHook('onClose', async () => { process.off('SIGHUP', onHangup) })
}

/** The password on standard input (one line break at its end is not part of it), hashed. */
async function printHash (): Promise<void> {
  const password = (await text(process.stdin)).replace(/\r?\n$/, '')
  if (password === '') {
    process.stderr.write('luna-server: hash-password: no password on standard input\n')
    process.exitCode = 2
    return
  }
  process.stdout.write(`${await hashPassword(password)}\n`)
}

/** Once the connections are closed, how long the store gets to close before the process gives up. */
const STORE_CLOSE_GRACE = 2000

/**
 * On SIGTERM or SIGINT (or an uncaught error): stop accepting connections, let requests in flight
 * finish for up to `closeTimeout` ms, then close every connection still open, close the store and
 * exit 0 (1 after an error). A second signal exits 1 at once.
 */
function closeOnSignals (app: FastifyInstance, closeTimeout: number, hangupReloads: boolean): { uninstall: () => void } {
  // SIGHUP closes too, unless it reloads the users and certificates.
  const skip = hangupReloads ? ['SIGHUP' as const] : []
  return closeWithGrace({ delay: closeTimeout + STORE_CLOSE_GRACE, logger: app.log, skip }, async ({ signal, err }) => {
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
  let users: LunaUsers | undefined
  let tls: TlsFiles | undefined
  try {
    if (settings.usersFile !== '') users = await loadUsersFile(settings.usersFile)
    if (settings.tlsCert !== '') tls = await readTlsFiles(settings.tlsCert, settings.tlsKey)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`luna-server: ${error.message}\n`)
    process.exitCode = 2
    return
  }
  const app = buildServer({ ...settings, ...(users === undefined ? {} : { users }), ...(tls === undefined ? {} : { tls }) })
  // Listening for signals first: one that arrives while the server starts still closes it cleanly.
  const reloads = users !== undefined || tls !== undefined
  const closer = closeOnSignals(app, settings.closeTimeout, reloads)
  if (reloads) reloadOnHangup(app, settings, users)
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
  const panel = panelUrl(app, settings.host, tls !== undefined)
  const url = follower ? new URL('/gateway/services/', panel).href : panel
  if (!follower && users === undefined && settings.password === '' && !loopbackOnly(settings.host)) {
    app.log.warn({ host: settings.host }, `Anyone who can reach ${settings.host}:${settings.port} may change the registry as ${settings.username} with the default blank password: set LUNA_AUTH_PASSWORD or LUNA_USERS_FILE, or LUNA_HOST=127.0.0.1`)
  }
  // `url` as a field of its own lets scripts and tests find the address in the JSON log.
  app.log.info({ url }, `Luna ${follower ? 'gateway' : 'registry'} listening on ${url}`)
}

/**
 * The `luna-server` command. Exit codes: 0 after help, version, a hash or a graceful shutdown;
 * 1 when the server cannot listen; 2 for a bad setting, users file or certificate.
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
  else if (config.action === 'hash-password') await printHash()
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
