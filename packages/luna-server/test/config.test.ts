import t from 'tap'
import { ConfigError, HELP, parseConfig, type ServerSettings } from '../src/index.js'

const PASSWORD = 'pa55-w0rd-never-shown'

const ACCESS_DEFAULTS = {
  usersFile: '',
  maxFailures: 10,
  tlsCert: '',
  tlsKey: ''
}

const GATEWAY_DEFAULTS = {
  metrics: true,
  gateway: true,
  gatewayBalancer: 'weighted-round-robin',
  gatewayTimeout: 30_000,
  gatewayBodyLimit: 100 * 1024 * 1024,
  gatewayAttempts: 3,
  gatewayCoolDown: 10_000,
  gatewayAuth: false,
  registryUrl: '',
  corsOrigin: ''
}

const RENDER_DEFAULTS = { nginxConfig: '', nginxListen: '8080', nginxTest: 'nginx -t', nginxReload: 'nginx -s reload', render: [] }

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
    protectionThreshold: 0.5,
    protectionMaxDuration: 900_000,
    store: 'memory',
    storePrefix: 'luna:',
    requestTimeout: 30_000,
    closeTimeout: 10_000,
    logLevel: 'info',
    ...ACCESS_DEFAULTS,
    ...GATEWAY_DEFAULTS,
    ...RENDER_DEFAULTS
  })
})

t.test('protection settings: a share below 1, and a duration', async (t) => {
  t.equal(settings([], { LUNA_PROTECTION_THRESHOLD: '0.75' }).protectionThreshold, 0.75)
  t.equal(settings(['--protection-threshold', '0'], { LUNA_PROTECTION_THRESHOLD: '0.75' }).protectionThreshold, 0, 'the flag wins; 0 never')
  t.equal(settings(['--protection-threshold=.3']).protectionThreshold, 0.3)
  t.equal(settings([], { LUNA_PROTECTION_MAX_DURATION: '1h' }).protectionMaxDuration, 3_600_000)
  t.equal(settings(['--protection-max-duration', '90s']).protectionMaxDuration, 90_000)
  for (const bad of ['1', '1.0', '-0.5', 'half', '', '50%']) {
    t.match(failure([`--protection-threshold=${bad}`]).message, /^LUNA_PROTECTION_THRESHOLD \(--protection-threshold\) must be a number from 0 \(never\) up to, not including, 1, such as 0\.5, got /, bad)
  }
  for (const bad of ['0', 'abc', '2d']) {
    t.match(failure([], { LUNA_PROTECTION_MAX_DURATION: bad }).message, /^LUNA_PROTECTION_MAX_DURATION \(--protection-max-duration\) must be a positive duration up to 1d such as 30s, 15m, 1h, got /, bad)
  }
})

t.test('store settings: memory or a Redis URL, never echoing its password', async (t) => {
  t.equal(settings(['--store', 'redis://127.0.0.1:6379/2']).store, 'redis://127.0.0.1:6379/2')
  t.equal(settings([], { LUNA_STORE: 'rediss://:pw@cache.internal:6380' }).store, 'rediss://:pw@cache.internal:6380')
  t.equal(settings(['--store-prefix', 'prod:luna:']).storePrefix, 'prod:luna:')
  const masked = failure(['--store', 'redis://:s3cret@/0'])
  t.match(masked.message, /^LUNA_STORE \(--store\) must be memory or a redis:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\/ URL \(rediss… for TLS\), got "redis:\/\/:\*\*\*@\/0"$/)
  t.notMatch(masked.message, /s3cret/)
  t.match(failure(['--store', 'mysql://db']).message, /^LUNA_STORE \(--store\) .*, got "mysql:\/\/db"$/)
  t.match(failure([], { LUNA_STORE: 'Memory' }).message, /^LUNA_STORE/)
  t.match(failure(['--store-prefix', 'a b']).message, /^LUNA_STORE_PREFIX \(--store-prefix\) must be 1-64 characters without spaces/)
  t.match(failure(['--store-prefix', 'a{1}']).message, /^LUNA_STORE_PREFIX \(--store-prefix\) must be 1-64 characters without spaces or braces/)
})

t.test('store settings: Sentinel and Cluster URLs, and no query parameter but the known ones', async (t) => {
  for (const url of [
    'redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster/2',
    'rediss+sentinel://s1:26379/mymaster?sentinelPassword=x&waitTimeout=200',
    'redis+cluster://10.0.0.1:6379,10.0.0.2:6379?waitReplicas=auto',
    'rediss+cluster://:pw@node:6379?commandTimeout=500&waitReplicas=0'
  ]) t.equal(settings(['--store', url]).store, url)
  const unknown = failure([], { LUNA_STORE: 'redis://:s3cret@h:6379/0?family=6' })
  t.equal(unknown.message, 'LUNA_STORE (--store) has an unknown parameter "family": accepted are commandTimeout, waitReplicas, waitTimeout, sentinelPassword')
  t.match(failure(['--store', 'redis+cluster://h:1?tls=true#x']).message, /^LUNA_STORE \(--store\) has an unknown parameter "tls"/)
  t.match(failure(['--store', 'sentinel://h:26379/mymaster']).message, /^LUNA_STORE \(--store\) must be memory or a redis/)
  t.match(failure(['--store', 'redis+cluster://']).message, /^LUNA_STORE \(--store\) must be memory/)
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
    protectionThreshold: 0.5,
    protectionMaxDuration: 900_000,
    store: 'memory',
    storePrefix: 'luna:',
    requestTimeout: 5000,
    closeTimeout: 0,
    logLevel: 'debug',
    ...ACCESS_DEFAULTS,
    ...GATEWAY_DEFAULTS,
    ...RENDER_DEFAULTS
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
    protectionThreshold: 0.5,
    protectionMaxDuration: 900_000,
    store: 'memory',
    storePrefix: 'luna:',
    requestTimeout: 500,
    closeTimeout: 2000,
    logLevel: 'warn',
    ...ACCESS_DEFAULTS,
    ...GATEWAY_DEFAULTS,
    ...RENDER_DEFAULTS
  })
})

t.test('metrics: on by default, off from a variable or a flag', async (t) => {
  t.equal(settings([], { LUNA_METRICS: 'off' }).metrics, false)
  t.equal(settings(['--metrics', 'off'], { LUNA_METRICS: 'on' }).metrics, false, 'the flag wins')
  t.match(failure(['--metrics', 'no']).message, /^LUNA_METRICS \(--metrics\) must be on or off/)
})

t.test('gateway settings, from variables and flags', async (t) => {
  t.match(settings([], {
    LUNA_GATEWAY: 'off',
    LUNA_GATEWAY_BALANCER: 'round-robin',
    LUNA_GATEWAY_TIMEOUT: '5s',
    LUNA_GATEWAY_BODY_LIMIT: '1GiB',
    LUNA_GATEWAY_ATTEMPTS: '5',
    LUNA_GATEWAY_COOL_DOWN: '0',
    LUNA_GATEWAY_AUTH: 'on',
    LUNA_CORS_ORIGIN: 'https://shop.example, http://localhost:5173'
  }), {
    gateway: false,
    gatewayBalancer: 'round-robin',
    gatewayTimeout: 5000,
    gatewayBodyLimit: 1024 ** 3,
    gatewayAttempts: 5,
    gatewayCoolDown: 0,
    gatewayAuth: true,
    corsOrigin: 'https://shop.example,http://localhost:5173'
  })
  t.match(settings(['--gateway-balancer', 'None', '--gateway-body-limit=512KiB', '--cors-origin', '*', '--registry-url', 'http://ops:pw@registry:4000']), {
    gatewayBalancer: 'first',
    gatewayBodyLimit: 512 * 1024,
    corsOrigin: '*',
    registryUrl: 'http://ops:pw@registry:4000'
  })
  t.equal(settings(['--gateway-body-limit', '1048576']).gatewayBodyLimit, 1048576, 'plain bytes')
})

t.test('the original Luna\'s LOAD_BALANCER_TYPE names the gateway\'s balancer when LUNA_GATEWAY_BALANCER does not', async (t) => {
  t.equal(settings([], { LOAD_BALANCER_TYPE: 'RoundRobin' }).gatewayBalancer, 'round-robin')
  t.equal(settings([], { LOAD_BALANCER_TYPE: 'WeightedRoundRobin' }).gatewayBalancer, 'weighted-round-robin')
  t.equal(settings([], { LOAD_BALANCER_TYPE: 'None' }).gatewayBalancer, 'first')
  t.equal(settings([], { LOAD_BALANCER_TYPE: 'None', LUNA_GATEWAY_BALANCER: 'random' }).gatewayBalancer, 'random', 'Luna\'s own name wins')
  t.equal(settings(['--gateway-balancer', 'random'], { LOAD_BALANCER_TYPE: 'None' }).gatewayBalancer, 'random', 'and the flag over both')
  t.match(failure([], { LOAD_BALANCER_TYPE: 'Sticky' }).message, /^LOAD_BALANCER_TYPE \(--gateway-balancer\) must be one of weighted-round-robin, round-robin, random, first \(or WeightedRoundRobin, RoundRobin, None\), got "Sticky"$/, 'the error names the variable that was set')
  t.match(HELP, /--gateway-balancer <name>\s+LUNA_GATEWAY_BALANCER, LOAD_BALANCER_TYPE\s+weighted-round-robin\s/)
})

t.test('bad gateway settings name the variable, the rule and the value', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ LUNA_GATEWAY: 'no' }, /^LUNA_GATEWAY \(--gateway\) must be on or off, got "no"$/],
    [{ LUNA_GATEWAY_AUTH: 'true' }, /^LUNA_GATEWAY_AUTH \(--gateway-auth\) must be on or off, got "true"$/],
    [{ LUNA_GATEWAY_TIMEOUT: '0' }, /^LUNA_GATEWAY_TIMEOUT \(--gateway-timeout\) must be a positive number/],
    [{ LUNA_GATEWAY_BODY_LIMIT: '100MB' }, /^LUNA_GATEWAY_BODY_LIMIT \(--gateway-body-limit\) must be a positive number of bytes, or one with KiB, MiB or GiB, such as 100MiB, got "100MB"$/],
    [{ LUNA_GATEWAY_BODY_LIMIT: '0' }, /^LUNA_GATEWAY_BODY_LIMIT/],
    [{ LUNA_GATEWAY_ATTEMPTS: '0' }, /^LUNA_GATEWAY_ATTEMPTS \(--gateway-attempts\) must be an integer from 1 to 100, got "0"$/],
    [{ LUNA_GATEWAY_COOL_DOWN: 'soon' }, /^LUNA_GATEWAY_COOL_DOWN \(--gateway-cool-down\)/],
    [{ LUNA_CORS_ORIGIN: 'shop.example' }, /^LUNA_CORS_ORIGIN \(--cors-origin\) must be blank, \* or comma-separated origins such as https:\/\/app.example.com, got "shop.example"$/],
    [{ LUNA_CORS_ORIGIN: 'https://shop.example/path' }, /^LUNA_CORS_ORIGIN/],
    [{ LUNA_REGISTRY_URL: 'redis://registry' }, /^LUNA_REGISTRY_URL \(--registry-url\) must be blank or an http:\/\/ or https:\/\/ URL, got "redis:\/\/registry"$/]
  ]
  for (const [env, message] of cases) t.match(failure([], env).message, message, JSON.stringify(env))
  const masked = failure([], { LUNA_REGISTRY_URL: 'ftp://ops:hunter2@registry' })
  t.notMatch(masked.message, /hunter2/, 'the registry URL\'s password is masked')
  t.match(failure(['--registry-url', 'http://registry:4000', '--gateway', 'off']).message, /^LUNA_REGISTRY_URL \(--registry-url\) runs a gateway-only replica: it cannot be used with LUNA_GATEWAY=off/)
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

t.test('access settings: users file, guessing limit, TLS files, hash-password', async (t) => {
  t.match(settings(['--users-file', '/etc/luna/users.json', '--auth-max-failures', '0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']), {
    usersFile: '/etc/luna/users.json',
    maxFailures: 0,
    tlsCert: 'c.pem',
    tlsKey: 'k.pem'
  })
  t.match(settings([], { LUNA_USERS_FILE: 'u.json', LUNA_AUTH_MAX_FAILURES: '25', LUNA_TLS_CERT: 'c', LUNA_TLS_KEY: 'k' }), { usersFile: 'u.json', maxFailures: 25, tlsCert: 'c', tlsKey: 'k' })
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--auth-max-failures=-1'], {}, /^LUNA_AUTH_MAX_FAILURES \(--auth-max-failures\) must be 0 \(no limit\) or an integer from 1 to 1000000, got "-1"$/],
    [[], { LUNA_AUTH_MAX_FAILURES: 'ten' }, /^LUNA_AUTH_MAX_FAILURES .*got "ten"$/],
    [['--tls-cert', 'c.pem'], {}, /^LUNA_TLS_CERT \(--tls-cert\) and LUNA_TLS_KEY \(--tls-key\) go together: give both files, or neither$/],
    [[], { LUNA_TLS_KEY: 'k.pem' }, /go together/],
    [['--users-file', 'u.json', '--gateway-auth', 'on'], {}, /^LUNA_GATEWAY_AUTH=on \(--gateway-auth on\) checks LUNA_AUTH_USERNAME and LUNA_AUTH_PASSWORD, which LUNA_USERS_FILE \(--users-file\) replaces: use one or the other$/],
    [['hash-password', '--port', '1'], {}, /^hash-password takes no arguments: it reads the password on standard input$/]
  ]
  for (const [argv, env, message] of cases) t.match(failure(argv, env).message, message, argv.join(' ') || JSON.stringify(env))
  t.same(parseConfig(['hash-password'], { LUNA_PORT: 'abc' }), { action: 'hash-password' }, 'hashing needs no valid settings')
  for (const flag of ['--users-file', '--auth-max-failures', '--tls-cert', '--tls-key']) t.match(HELP, new RegExp(`^\\s*${flag} <\\w+>`, 'm'), flag)
  t.match(HELP, /^\s*hash-password\s+read a password on standard input/m)
})
