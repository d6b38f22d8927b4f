import t from 'tap'
import { ConfigError, HELP, parseConfig, type ServerSettings } from '../src/config.js'

const PASSWORD = 'pa55-w0rd-never-shown'

function settings (argv: string[], env: Record<string, string> = {}): ServerSettings {
  const config = parseConfig(argv, env)
  if (config.action !== 'start') throw new Error(`expected start, got ${config.action}`)
  return config.settings
}

function failure (argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(argv, env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error(`${JSON.stringify({ argv, env })} was accepted`)
}

t.test('defaults', async (t) => {
  t.same(settings([], {}), {
    port: 4000,
    host: '0.0.0.0',
    username: 'admin',
    password: '',
    heartbeatTimeout: 30_000,
    evictAfter: 86_400_000,
    store: 'memory',
    storePrefix: 'luna:',
    requestTimeout: 30_000,
    closeTimeout: 10_000,
    logLevel: 'info'
  })
})

t.test('store settings: memory or a Redis URL, never echoing its password', async (t) => {
  t.equal(settings(['--store', 'redis://127.0.0.1:6379/2']).store, 'redis://127.0.0.1:6379/2')
  t.equal(settings([], { LUNA_STORE: 'rediss://:pw@cache.internal:6380' }).store, 'rediss://:pw@cache.internal:6380')
  t.equal(settings(['--store-prefix', 'prod:luna:']).storePrefix, 'prod:luna:')
  const masked = failure(['--store', 'redis://:s3cret@/0'])
  t.match(masked.message, /^LUNA_STORE \(--store\) must be memory or a redis:\/\/ or rediss:\/\/ URL, got "redis:\/\/:\*\*\*@\/0"$/)
  t.notMatch(masked.message, /s3cret/)
  t.match(failure(['--store', 'mysql://db']).message, /^LUNA_STORE \(--store\) .*, got "mysql:\/\/db"$/)
  t.match(failure([], { LUNA_STORE: 'Memory' }).message, /^LUNA_STORE/)
  t.match(failure(['--store-prefix', 'a b']).message, /^LUNA_STORE_PREFIX \(--store-prefix\) must be 1-64 characters without spaces/)
})

t.test('environment variables', async (t) => {
  t.same(settings([], {
    LUNA_PORT: '8080',
    LUNA_HOST: '127.0.0.1',
    LUNA_AUTH_USERNAME: 'ops',
    LUNA_AUTH_PASSWORD: PASSWORD,
    LUNA_HEARTBEAT_TIMEOUT: '2m',
    LUNA_EVICT_AFTER: '0',
    LUNA_REQUEST_TIMEOUT: '5s',
    LUNA_CLOSE_TIMEOUT: '0',
    LUNA_LOG_LEVEL: 'debug'
  }), {
    port: 8080,
    host: '127.0.0.1',
    username: 'ops',
    password: PASSWORD,
    heartbeatTimeout: 120_000,
    evictAfter: 0,
    store: 'memory',
    storePrefix: 'luna:',
    requestTimeout: 5000,
    closeTimeout: 0,
    logLevel: 'debug'
  })
  t.equal(settings(['--evict-after', '2s'], { LUNA_EVICT_AFTER: '1h' }).evictAfter, 2000, 'the flag wins')
  t.equal(settings(['--host', 'registry.internal'], {}).host, 'registry.internal')
})

t.test('flags override environment variables, in both spellings', async (t) => {
  const env = {
    LUNA_PORT: '8080',
    LUNA_HOST: '127.0.0.1',
    LUNA_AUTH_USERNAME: 'ops',
    LUNA_AUTH_PASSWORD: 'from-env',
    LUNA_HEARTBEAT_TIMEOUT: '2m',
    LUNA_EVICT_AFTER: '1h',
    LUNA_REQUEST_TIMEOUT: '1m',
    LUNA_CLOSE_TIMEOUT: '1m',
    LUNA_LOG_LEVEL: 'debug'
  }
  t.same(settings([
    '--port', '9000',
    '--host=::1',
    '--username', 'root',
    `--password=${PASSWORD}`,
    '--heartbeat-timeout', '500ms',
    '--evict-after=2m',
    '--request-timeout', '500ms',
    '--close-timeout=2s',
    '--log-level=warn'
  ], env), {
    port: 9000,
    host: '::1',
    username: 'root',
    password: PASSWORD,
    heartbeatTimeout: 500,
    evictAfter: 120_000,
    store: 'memory',
    storePrefix: 'luna:',
    requestTimeout: 500,
    closeTimeout: 2000,
    logLevel: 'warn'
  })
})

t.test('values at the edges of their rules', async (t) => {
  t.equal(settings(['--port', '0']).port, 0, '0 asks for any free port')
  t.equal(settings(['--port', '65535']).port, 65535)
  t.equal(settings(['--heartbeat-timeout', '1500']).heartbeatTimeout, 1500, 'plain milliseconds')
  t.equal(settings(['--request-timeout', '1']).requestTimeout, 1)
  t.equal(settings(['--request-timeout', '1d']).requestTimeout, 86_400_000)
  t.equal(settings(['--close-timeout', '1d']).closeTimeout, 86_400_000)
  t.equal(settings(['--log-level', 'TRACE']).logLevel, 'trace', 'levels are case-insensitive')
  t.equal(settings(['--password=-starts-with-a-dash']).password, '-starts-with-a-dash')
  t.equal(settings([], { LUNA_AUTH_PASSWORD: PASSWORD }).password, PASSWORD)
})

t.test('help and version', async (t) => {
  t.same(parseConfig(['--help'], {}), { action: 'help' })
  t.same(parseConfig(['-h'], {}), { action: 'help' })
  t.same(parseConfig(['--version'], {}), { action: 'version' })
  t.same(parseConfig(['-v'], {}), { action: 'version' })
  t.same(parseConfig(['--help'], { LUNA_PORT: 'abc' }), { action: 'help' }, 'help does not need valid settings')
})

t.test('the help text lists every flag with its variable and default', async (t) => {
  for (const [flag, env, fallback] of [
    ['--port', 'LUNA_PORT', '4000'],
    ['--host', 'LUNA_HOST', '0.0.0.0'],
    ['--username', 'LUNA_AUTH_USERNAME', 'admin'],
    ['--password', 'LUNA_AUTH_PASSWORD', '(blank)'],
    ['--heartbeat-timeout', 'LUNA_HEARTBEAT_TIMEOUT', '30s'],
    ['--request-timeout', 'LUNA_REQUEST_TIMEOUT', '30s'],
    ['--close-timeout', 'LUNA_CLOSE_TIMEOUT', '10s'],
    ['--log-level', 'LUNA_LOG_LEVEL', 'info']
  ] as const) {
    t.match(HELP, new RegExp(`^\\s*${flag} <\\w+>\\s+${env}\\s+${fallback.replace(/[().]/g, '\\$&')}\\s`, 'm'), flag)
  }
  t.match(HELP, /^Usage: luna-server/)
  t.match(HELP, /-h, --help/)
  t.match(HELP, /-v, --version/)
})

t.test('a bad value names the variable, the flag, the rule and the value, on one line', async (t) => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['port abc', ['--port', 'abc'], {}, /^LUNA_PORT \(--port\) must be an integer from 0 to 65535, got "abc"$/],
    ['port 70000', ['--port=70000'], {}, /^LUNA_PORT \(--port\) .*, got "70000"$/],
    ['port -1', [], { LUNA_PORT: '-1' }, /^LUNA_PORT \(--port\) .*, got "-1"$/],
    ['port 1.5', ['--port', '1.5'], {}, /^LUNA_PORT \(--port\) .*, got "1\.5"$/],
    ['empty port', [], { LUNA_PORT: '' }, /^LUNA_PORT \(--port\) .*, got ""$/],
    ['empty host', ['--host', ''], {}, /^LUNA_HOST \(--host\) must be an IP address or a hostname, got ""$/],
    ['blank host', [], { LUNA_HOST: '  ' }, /^LUNA_HOST \(--host\) must be an IP address or a hostname, got " {2}"$/],
    ['malformed IPv4 host', ['--host', '999.1.1.1'], {}, /^LUNA_HOST \(--host\) .*, got "999\.1\.1\.1"$/],
    ['bracketed host', ['--host', '[::1]'], {}, /^LUNA_HOST \(--host\) .*, got "\[::1\]"$/],
    ['evict-after abc', ['--evict-after', 'abc'], {}, /^LUNA_EVICT_AFTER \(--evict-after\) must be 0 \(never\) or .*, got "abc"$/],
    ['empty username', [], { LUNA_AUTH_USERNAME: '' }, /^LUNA_AUTH_USERNAME \(--username\) must be non-empty and must not contain ":", got ""$/],
    ['username with a colon', ['--username', 'ad:min'], {}, /^LUNA_AUTH_USERNAME \(--username\) .*, got "ad:min"$/],
    ['timeout 0', ['--heartbeat-timeout', '0'], {}, /^LUNA_HEARTBEAT_TIMEOUT \(--heartbeat-timeout\) must be a positive .*, got "0"$/],
    ['timeout abc', [], { LUNA_HEARTBEAT_TIMEOUT: 'abc' }, /^LUNA_HEARTBEAT_TIMEOUT \(--heartbeat-timeout\) .*, got "abc"$/],
    ['timeout 0s', ['--heartbeat-timeout=0s'], {}, /^LUNA_HEARTBEAT_TIMEOUT \(--heartbeat-timeout\) .*, got "0s"$/],
    ['request timeout 0', ['--request-timeout', '0'], {}, /^LUNA_REQUEST_TIMEOUT \(--request-timeout\) must be a duration from 1 ms to 1d .*, got "0"$/],
    ['request timeout over a day', [], { LUNA_REQUEST_TIMEOUT: '25h' }, /^LUNA_REQUEST_TIMEOUT \(--request-timeout\) .*, got "25h"$/],
    ['close timeout abc', ['--close-timeout=abc'], {}, /^LUNA_CLOSE_TIMEOUT \(--close-timeout\) must be 0 \(close at once\) or .*, got "abc"$/],
    ['close timeout over a day', ['--close-timeout', '2d'], {}, /^LUNA_CLOSE_TIMEOUT \(--close-timeout\) .*, got "2d"$/],
    ['log level', [], { LUNA_LOG_LEVEL: 'loud' }, /^LUNA_LOG_LEVEL \(--log-level\) must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
    ['a newline in a value', ['--port', '40\n00'], {}, /^LUNA_PORT \(--port\) .*, got "40\\n00"$/]
  ]
  for (const [name, argv, env, message] of cases) {
    const error = failure(argv, env)
    t.match(error.message, message, name)
    t.notMatch(error.message, /\n/, `${name}: one line`)
  }
})

t.test('the flag is checked, not the variable it overrides', async (t) => {
  t.equal(settings(['--port', '4001'], { LUNA_PORT: 'abc' }).port, 4001)
  t.match(failure(['--port', 'abc'], { LUNA_PORT: '4001' }).message, /got "abc"/)
})

t.test('command line mistakes are one-line errors', async (t) => {
  t.match(failure(['--prot', '4000']).message, /^Unknown option '--prot'/)
  t.match(failure(['--port']).message, /--port/, 'a missing value')
  t.match(failure(['--port', '-1']).message, /^Option '--port' argument is ambiguous.*--port=-XYZ/, 'a value that looks like a flag')
  t.match(failure(['4000']).message, /^Unexpected argument '4000'/)
  t.match(failure(['--help=yes']).message, /--help/)
  for (const argv of [['--prot', '4000'], ['--port'], ['--port', '-1'], ['4000']]) {
    t.notMatch(failure(argv).message, /\n/, argv.join(' '))
  }
})

t.test('no message ever carries the password', async (t) => {
  const env = { LUNA_AUTH_PASSWORD: PASSWORD }
  const mistakes = [
    ['--port', 'abc'],
    ['--host='],
    ['--username', 'a:b'],
    ['--heartbeat-timeout', '0'],
    ['--log-level', 'loud'],
    ['--nope'],
    ['--password'],
    ['--password', `-${PASSWORD}`],
    [`--passwd=${PASSWORD}`],
    ['-p', PASSWORD]
  ]
  for (const argv of mistakes) {
    for (const source of [{ argv, env }, { argv: [`--password=${PASSWORD}`, ...argv], env: {} }]) {
      const error = failure(source.argv, source.env)
      t.notMatch(error.message, PASSWORD, error.message)
    }
  }
})
