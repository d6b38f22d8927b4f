import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { hashPassword, LunaUsers } from 'luna-registry'
import { within } from '../../../test-support/until.js'
import { loadUsersFile, reloadUsersFile } from '../src/access-files.js'
import { basic, BIN, CLEAN, listeningUrl, logged, PACKAGE, server, WAIT } from './child.js'

const PASSWORD = 'the ops password'
const HASH = await hashPassword(PASSWORD)

/** `luna-server hash-password` with `input` on its standard input. */
async function hashCommand (t: Test, input: string, args: string[] = []): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'hash-password', ...args], { cwd: PACKAGE, env: { ...process.env, ...CLEAN } })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(input)
  const code = await within('hash-password', new Promise<number | null>((resolve) => child.once('close', resolve)), WAIT)
  return { code, stdout, stderr }
}

function usersFile (dir: string, users: unknown): string {
  const path = join(dir, 'users.json')
  writeFileSync(path, typeof users === 'string' ? users : JSON.stringify({ users }))
  return path
}

t.test('hash-password prints a hash of the password on standard input', async (t) => {
  const { code, stdout, stderr } = await hashCommand(t, 'pä:ss word\n')
  t.equal(code, 0)
  t.equal(stderr, '')
  t.match(stdout, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+\n$/)
  const users = new LunaUsers([{ username: 'u', passwordHash: stdout.trim(), role: 'read' }])
  t.ok(await users.verify('u', 'pä:ss word'), 'the hash verifies the password, without its line break')
  t.notOk(await users.verify('u', 'pä:ss word\n'))
  t.same(await hashCommand(t, ''), { code: 2, stdout: '', stderr: 'luna-server: hash-password: no password on standard input\n' })
  t.match(await hashCommand(t, 'x', ['extra']), { code: 2, stderr: /^luna-server: hash-password takes no arguments/ })
})

t.test('a users file that breaks a rule is told in one line naming the file and the field', async (t) => {
  const dir = t.testdir({})
  const file = (users: unknown[]): string => JSON.stringify({ users })
  const cases: Array<[string, RegExp]> = [
    ['{ "users": [', /^LUNA_USERS_FILE \(--users-file\) .*users\.json: is not JSON: /],
    ['[1]', /users\.json: must be a JSON object \{ "users": \[ … \] \}$/],
    ['{ "users": [], "admins": [] }', /users\.json: admins is not a field of the file: only users is$/],
    [file([{ username: 'ops', password: PASSWORD, role: 'admin' }]), /users\.json: users\[0\]\.password is refused: store a passwordHash made by luna-server hash-password/],
    [file([{ username: 'ops', passwordHash: HASH, role: 'admin' }, { username: 'svc', passwordHash: HASH, role: 'writer' }]), /users\.json: users\[1\]\.role must be one of read, register, admin, got "writer"$/],
    [file([{ username: 'svc', passwordHash: HASH, role: 'register', services: [] }]), /users\[0\]\.services must be a non-empty array/]
  ]
  for (const [content, message] of cases) {
    const error = await loadUsersFile(usersFile(dir, content)).then(() => undefined, (err: Error) => err)
    t.match(error, { name: 'ConfigError', message }, content)
    t.notMatch(error?.message, /\n/, 'one line')
    t.notMatch(error?.message, PASSWORD, 'never the password')
  }
  await t.rejects(loadUsersFile(join(dir, 'nowhere.json')), { message: /^LUNA_USERS_FILE \(--users-file\) .*nowhere\.json: cannot be read: ENOENT/ })
  const users = await loadUsersFile(usersFile(dir, [{ username: 'ops', passwordHash: HASH, role: 'admin' }]))
  await t.rejects(reloadUsersFile(users, usersFile(dir, '[]')), { name: 'ConfigError' })
  t.equal(users.size, 1, 'a reload that fails leaves the users')
  await reloadUsersFile(users, usersFile(dir, [{ username: 'ops', passwordHash: HASH, role: 'admin' }, { username: 'dash', passwordHash: HASH, role: 'read' }]))
  t.equal(users.size, 2, 'a good one replaces them')
  t.ok(users instanceof LunaUsers)
})

t.test('luna-server exits 2 with that line when its users file breaks a rule', async (t) => {
  const dir = t.testdir({})
  const proc = server(t, { LUNA_USERS_FILE: usersFile(dir, [{ username: 'ops', password: PASSWORD, role: 'admin' }]) })
  t.equal((await within('exit', proc.exited, WAIT))[0], 2)
  t.match(proc.output(), /^luna-server: LUNA_USERS_FILE \(--users-file\) [^\n]*users\.json: users\[0\]\.password is refused[^\n]*\n$/)
  t.notMatch(proc.output(), PASSWORD, 'never the password')
})

t.test('SIGHUP reloads the users file without dropping connections; a bad file keeps the old list', async (t) => {
  const dir = t.testdir({})
  const path = usersFile(dir, [
    { username: 'ops', passwordHash: HASH, role: 'admin' },
    { username: 'dash', passwordHash: HASH, role: 'read' }
  ])
  const proc = server(t, { LUNA_USERS_FILE: path })
  const base = await listeningUrl(proc)
  t.notMatch(proc.output(), /default blank password/, 'no warning with a users file')
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const get = async (username: string, password = PASSWORD): Promise<{ status: number, reused: boolean }> => await new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/registry/v1/services', base), { agent, headers: { authorization: basic(username, password) } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }))
    }).on('error', reject)
    req.end()
  })
  t.same(await get('ops'), { status: 200, reused: false })
  t.equal((await get('dash')).status, 200)
  t.equal((await get('admin', '')).status, 401, 'the username and password user is gone')
  // A refusal closes its connection: one more request opens the one that must outlive the reload.
  t.equal((await get('ops')).status, 200)

  usersFile(dir, [
    { username: 'ops', passwordHash: HASH, role: 'admin' },
    { username: 'new', passwordHash: HASH, role: 'read' }
  ])
  proc.child.kill('SIGHUP')
  t.match(await logged(proc, /^SIGHUP: .*users\.json reloaded$/), { users: 2 })
  t.same(await get('ops'), { status: 200, reused: true }, 'the connection stayed open')
  t.equal((await get('dash')).status, 401, 'a user taken off is refused, even with a header verified before')
  t.equal((await get('new')).status, 200, 'a user added is let in')

  usersFile(dir, [{ username: 'ops', password: PASSWORD, role: 'admin' }])
  proc.child.kill('SIGHUP')
  const error = await logged(proc, /^SIGHUP: users kept as they were/)
  t.match(error['msg'], /users\[0\]\.password is refused/)
  t.equal((await get('new')).status, 200, 'the old list stays')
  t.equal(proc.child.exitCode, null, 'and the server runs on')
  t.notMatch(proc.output(), PASSWORD, 'no password is logged')
})
