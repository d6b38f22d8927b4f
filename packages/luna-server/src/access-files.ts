import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import { InvalidUsersError, LunaUsers, type LunaUser } from 'luna-registry'
import { ConfigError } from './config.js'

function oneLine (error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')
}

async function read (what: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (error) {
    throw new ConfigError(`${what} ${path}: cannot be read: ${oneLine(error)}`)
  }
}

const USERS_FILE = 'LUNA_USERS_FILE (--users-file)'

/** The list of the users file at `path`, `{ "users": [ … ] }`, before its users are checked. */
async function readUsersList (path: string): Promise<unknown> {
  const text = (await read(USERS_FILE, path)).toString('utf8')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${USERS_FILE} ${path}: is not JSON: ${oneLine(error)}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !('users' in parsed)) {
    throw new ConfigError(`${USERS_FILE} ${path}: must be a JSON object { "users": [ … ] }`)
  }
  const extra = Object.keys(parsed).find((key) => key !== 'users')
  if (extra !== undefined) throw new ConfigError(`${USERS_FILE} ${path}: ${extra} is not a field of the file: only users is`)
  return (parsed as { users: unknown }).users
}

/** `use(list)`, with a users list that breaks a rule told as a `ConfigError` naming the file and the field's path. */
async function withUsers<T> (path: string, use: (list: LunaUser[]) => T): Promise<T> {
  const list = await readUsersList(path)
  try {
    return use(list as LunaUser[])
  } catch (error) {
    if (error instanceof InvalidUsersError) throw new ConfigError(`${USERS_FILE} ${path}: ${error.message}`)
    throw error
  }
}

/** The users of the file at `path`; a `ConfigError` names the file and the first field that breaks a rule (`users[1].role`). */
export async function loadUsersFile (path: string): Promise<LunaUsers> {
  return await withUsers(path, (list) => new LunaUsers(list))
}

/** Replaces `users` with those of the file; a `ConfigError` leaves them as they were. */
export async function reloadUsersFile (users: LunaUsers, path: string): Promise<void> {
  await withUsers(path, (list) => { users.replace(list) })
}

export interface TlsFiles { cert: Buffer, key: Buffer }

/** The certificate and key files, checked to make a TLS context together. */
export async function readTlsFiles (certPath: string, keyPath: string): Promise<TlsFiles> {
  const cert = await read('LUNA_TLS_CERT (--tls-cert)', certPath)
  const key = await read('LUNA_TLS_KEY (--tls-key)', keyPath)
  try {
    createSecureContext({ cert, key })
  } catch (error) {
    throw new ConfigError(`LUNA_TLS_CERT (--tls-cert) ${certPath} and LUNA_TLS_KEY (--tls-key) ${keyPath} do not make a TLS certificate and key: ${oneLine(error)}`)
  }
  return { cert, key }
}
