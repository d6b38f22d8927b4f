import { grant, patternProblem, ROLES, type Grant, type LunaRole } from './access.js'
import { InvalidUsersError } from './errors.js'
import { hashPassword, parsePasswordHash, verifyPassword, type ParsedHash } from './passwords.js'

/** One user of a users list: `passwordHash` from `luna-server hash-password`, never a password. */
export interface LunaUser {
  username: string
  passwordHash: string
  role: LunaRole
  /** For role `register`, and only for it: the services whose instances it may change. */
  services?: readonly string[]
}

interface Entry { hash: ParsedHash, grant: Grant }

const FIELDS = new Set(['username', 'passwordHash', 'role', 'services'])

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

class Problem {
  constructor (readonly path: string, readonly problem: string) {}
}

function fail (path: string, problem: string): never {
  throw new Problem(path, problem)
}

/** The first field of `list` that breaks a rule, as its path and the rule; `undefined` when none does. */
export function usersProblem (list: unknown): { path: string, problem: string } | undefined {
  try {
    entries(list)
    return undefined
  } catch (error) {
    if (error instanceof Problem) return { path: error.path, problem: error.problem }
    throw error
  }
}

/** The users of `list`, checked; the first problem throws an `InvalidUsersError` naming its path. */
function checkUsers (list: unknown): Map<string, Entry> {
  const problem = usersProblem(list)
  if (problem !== undefined) throw new InvalidUsersError(problem.path, problem.problem)
  return entries(list)
}

function checkServices (path: string, services: unknown): string[] {
  if (!Array.isArray(services) || services.length === 0) fail(path, `must be a non-empty array of service names or patterns such as "orders-*", got ${describe(services)}`)
  services.forEach((pattern: unknown, i) => {
    const problem = patternProblem(pattern)
    if (problem !== undefined) fail(`${path}[${i}]`, `${problem}, got ${describe(pattern)}`)
  })
  return services as string[]
}

function checkUser (path: string, value: unknown, seen: Map<string, number>, index: number): [string, Entry] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, `must be an object, got ${describe(value)}`)
  const user = value as Record<string, unknown>
  if ('password' in user) fail(`${path}.password`, 'is refused: store a passwordHash made by luna-server hash-password, never the password itself')
  const unknown = Object.keys(user).find((key) => !FIELDS.has(key))
  if (unknown !== undefined) fail(`${path}.${unknown}`, 'is not a field of a user: username, passwordHash, role and services are')
  const { username, passwordHash, role } = user
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    fail(`${path}.username`, `must be a non-empty string without ":", got ${describe(username)}`)
  }
  const before = seen.get(username)
  if (before !== undefined) fail(`${path}.username`, `repeats ${JSON.stringify(username)}, already the username of users[${before}]`)
  seen.set(username, index)
  if (typeof passwordHash !== 'string') fail(`${path}.passwordHash`, `must be a string, got ${describe(passwordHash)}`)
  const hash = parsePasswordHash(passwordHash)
  if (typeof hash === 'string') fail(`${path}.passwordHash`, hash)
  if (!ROLES.includes(role as LunaRole)) fail(`${path}.role`, `must be one of ${ROLES.join(', ')}, got ${describe(role)}`)
  if (role !== 'register' && user['services'] !== undefined) fail(`${path}.services`, `is for role register only; role ${String(role)} ${role === 'admin' ? 'changes every service' : 'changes none'}`)
  const services = role === 'register' ? checkServices(`${path}.services`, user['services']) : []
  return [username, { hash, grant: grant(username, { role: role as LunaRole, services }) }]
}

function entries (list: unknown): Map<string, Entry> {
  if (!Array.isArray(list)) fail('users', `must be an array of users, got ${describe(list)}`)
  const seen = new Map<string, number>()
  return new Map(list.map((user: unknown, i) => checkUser(`users[${i}]`, user, seen, i)))
}

/**
 * A list of users with hashed passwords and their roles, which may be replaced while the
 * registry runs (`replace`): what luna-server reloads on SIGHUP.
 */
export class LunaUsers {
  #users: Map<string, Entry>
  #generation = 0
  /** Verified against when the username is unknown, so that an unknown name takes as long to refuse. */
  readonly #decoy: Promise<ParsedHash>

  /** Throws an `InvalidUsersError` naming the first field that breaks a rule. */
  constructor (users: readonly LunaUser[]) {
    this.#users = checkUsers(users)
    this.#decoy = hashPassword('').then((hash) => parsePasswordHash(hash) as ParsedHash)
    this.#decoy.catch(() => {})
  }

  /** How many users there are. */
  get size (): number {
    return this.#users.size
  }

  /** Goes up by one at each `replace`: whatever was verified before may not hold any more. */
  get generation (): number {
    return this.#generation
  }

  /** Replaces the whole list; a list that breaks a rule throws and leaves the current one. */
  replace (users: readonly LunaUser[]): void {
    this.#users = checkUsers(users)
    this.#generation++
  }

  /** The user's rights when `password` is theirs; `undefined` otherwise, after the same work. */
  async verify (username: string, password: string): Promise<Grant | undefined> {
    const entry = this.#users.get(username)
    const matches = await verifyPassword(password, entry?.hash ?? await this.#decoy)
    return matches && entry !== undefined ? entry.grant : undefined
  }
}
