import { randomBytes } from 'node:crypto'
import { deflateSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { AUTH, JSON_HEADERS as JSON_, PREFIX, build, info } from './helpers.js'

const ID = 'orders:10.0.0.1:8080'
const URL_ = `${PREFIX}/instances/${ID}`
/** How deep a field of a body may nest objects and arrays. */
const FIELD_MAX_DEPTH = 8

/** `levels` arrays, one inside the other, as JSON. */
const nestedArrays = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels)

/** A valid body with `json` as the value of `field`. */
function withField (field: string, json: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify(info('orders', { ...overrides, [field]: 'VALUE' })).replace('"VALUE"', json)
}

for (const method of ['POST', 'PUT'] as const) {
  t.test(`${method}: an unknown field nested 12 000 levels deep is a 400 naming it, not a 500`, async (t) => {
    const app = await build(t)
    if (method === 'PUT') {
      t.equal((await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { version: 'kept' }) })).statusCode, 201)
    }
    const payload = withField('extra', nestedArrays(12_000))
    t.ok(payload.length < 25 * 1024, 'well under the body limit')
    const res = await app.inject({ method, url: URL_, headers: JSON_, payload })
    t.equal(res.statusCode, 400)
    t.match(res.json(), {
      code: 'FST_LUNA_BODY_TOO_DEEP',
      message: `body/extra must NOT nest objects or arrays more than ${FIELD_MAX_DEPTH} levels deep`
    })
    t.same((await app.lunaRegistry.store.list()).map((record) => record.version), method === 'PUT' ? ['kept'] : [], 'nothing was written')
    const again = await app.inject({ method, url: URL_, headers: JSON_, payload: JSON.stringify(info('orders', { version: 'next' })) })
    t.equal(again.statusCode, method === 'POST' ? 201 : 200, 'the next body is served')
  })
}

t.test('the depth limit holds for every field, objects and arrays alike, and only past it', async (t) => {
  const app = await build(t)
  const nestedObjects = (levels: number): string => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)
  const cases: Array<[string, string, number]> = [
    // Eight levels hold values eight deep: `[[…['ok']…]]` with eight arrays.
    ['extra', `${'['.repeat(FIELD_MAX_DEPTH)}"ok"${']'.repeat(FIELD_MAX_DEPTH)}`, 201],
    ['extra', `${'['.repeat(FIELD_MAX_DEPTH + 1)}"ok"${']'.repeat(FIELD_MAX_DEPTH + 1)}`, 400],
    ['extra', nestedObjects(FIELD_MAX_DEPTH), 200],
    ['extra', nestedObjects(FIELD_MAX_DEPTH + 1), 400],
    ['extra', nestedObjects(10_000), 400],
    ['balancerOptions', `{"weight":1,"x":${nestedArrays(20_000)}}`, 400],
    ['metadata', `{"k":${nestedArrays(20_000)}}`, 400]
  ]
  for (const [field, json, status] of cases) {
    const res = await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: withField(field, json) })
    t.equal(res.statusCode, status, `${field} ${json.slice(0, 12)}… (${json.length} characters): ${status}`)
    if (status === 400) t.equal(res.json().message, `body/${field} must NOT nest objects or arrays more than ${FIELD_MAX_DEPTH} levels deep`)
  }
})

t.test('a too deep field is named as a JSON Pointer, an array body\'s item too', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: withField('a/b~c', nestedArrays(100)) })
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /^body\/a~1b~0c must NOT nest/)
  const array = await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: `[{}, ${nestedArrays(12_000)}]` })
  t.equal(array.statusCode, 400)
  t.equal(array.json().message, `body/1 must NOT nest objects or arrays more than ${FIELD_MAX_DEPTH} levels deep`)
})

t.test('in process: a deep info is an InvalidInstanceInfoError, never a RangeError', async (t) => {
  const app = await build(t)
  const deep = JSON.parse(nestedArrays(100_000)) as unknown
  const writes: Array<() => Promise<unknown>> = [
    async () => await app.lunaRegistry.register(ID, { ...info('orders'), extra: deep } as never),
    async () => await app.lunaRegistry.heartbeat(ID, { ...info('orders'), balancerOptions: { weight: 1, x: deep } } as never)
  ]
  for (const write of writes) {
    await t.rejects(write(), {
      name: 'FastifyError',
      code: 'FST_LUNA_INVALID_INSTANCE_INFO',
      statusCode: 400,
      message: /^info\/(extra|balancerOptions) must NOT nest objects or arrays more than 8 levels deep$/
    })
  }
  t.same(await app.lunaRegistry.store.list(), [])
})

t.test('in process: a long flat array is shallow, and accepted', async (t) => {
  const app = await build(t)
  const long = new Array<number>(300_000).fill(0)
  const { created } = await app.lunaRegistry.register(ID, info('orders', { balancerOptions: { weight: 1, long } }) as never)
  t.ok(created)
})

t.test('in process: the caller\'s info is never frozen or kept; the stored one is frozen', async (t) => {
  const app = await build(t)
  const given = info('orders', { metadata: { zone: 'eu' }, balancerOptions: { weight: 2, tags: ['a'] } }) as never as Record<string, any>
  const { instance } = await app.lunaRegistry.register(ID, given as never)
  t.notOk(Object.isFrozen(given) || Object.isFrozen(given['metadata']), 'the caller keeps an object it can change')
  given['metadata'].zone = 'us'
  t.equal((await app.lunaRegistry.getInstance(ID))?.metadata['zone'], 'eu', 'changing it changes nothing stored')
  t.ok(Object.isFrozen(instance.metadata) && Object.isFrozen((instance.balancerOptions as Record<string, unknown>)['tags']), 'what is stored is frozen all the way down')
})

t.test('metadata keys: 1 to 128 characters, or a 400 naming body/metadata and the rule', async (t) => {
  const app = await build(t)
  const cases: Array<[Record<string, string>, number, string?]> = [
    [{ '': 'x' }, 400, 'body/metadata keys must not be empty'],
    [{ ['k'.repeat(129)]: 'x' }, 400, `body/metadata key "${'k'.repeat(32)}"… must NOT have more than 128 characters`],
    [{ ['k'.repeat(10_000)]: 'x' }, 400, `body/metadata key "${'k'.repeat(32)}"… must NOT have more than 128 characters`],
    [{ zone: 'eu', ['k'.repeat(128)]: 'x' }, 201],
    // Characters, not UTF-16 units: 128 emoji are 256 units.
    [{ ['🚀'.repeat(128)]: 'x' }, 200]
  ]
  for (const [metadata, status, message] of cases) {
    const res = await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: JSON.stringify(info('orders', { metadata })) })
    t.equal(res.statusCode, status, `${Object.keys(metadata).map((key) => key.length).join(', ')}: ${status}`)
    if (message !== undefined) t.match(res.json(), { code: 'FST_ERR_VALIDATION', message })
  }
  await t.rejects(app.lunaRegistry.heartbeat(ID, info('orders', { metadata: { '': 'x' } }) as never), { code: 'FST_LUNA_INVALID_INSTANCE_INFO', message: 'info/metadata keys must not be empty' })
  t.same(Object.keys((await app.lunaRegistry.getInstance(ID))?.metadata ?? {}), ['🚀'.repeat(128)])
})

t.test('metadata values are strings whatever the key, line breaks included', async (t) => {
  const app = await build(t)
  for (const key of ['a\nb', '\r', 'a\u2028b', '\u2029']) {
    const res = await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: JSON.stringify(info('orders', { metadata: { [key]: { not: 'a string' } } })) })
    // Escaped by hand: a raw U+2028 in a test's name would end its line of TAP.
    t.equal(res.statusCode, 400, [...key].map((c) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(' '))
    t.match(res.json(), { code: 'FST_ERR_VALIDATION', message: `body/metadata/${key} must be string` })
  }
  t.same(await app.lunaRegistry.store.list(), [])
  const fine = await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: JSON.stringify(info('orders', { metadata: { 'a\nb': 'c' } })) })
  t.same(fine.json().metadata, { 'a\nb': 'c' }, 'such a key with a string is fine')
})

/** A valid body's bytes with `bytes` in the middle of its description. */
const withBytes = (bytes: number[]): Buffer => {
  const [before, after] = JSON.stringify(info('orders', { description: 'HERE' })).split('HERE') as [string, string]
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)])
}

for (const method of ['POST', 'PUT'] as const) {
  t.test(`${method}: a body that is not valid UTF-8 is a 400, never read with U+FFFD in its place`, async (t) => {
    const app = await build(t)
    if (method === 'PUT') {
      t.equal((await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { version: 'kept' }) })).statusCode, 201)
    }
    const invalid: Array<[string, number[]]> = [
      ['a lone continuation byte', [0x80]],
      ['0xFF', [0xff]],
      ['an overlong "/"', [0xc0, 0xaf]],
      ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
      ['a sequence cut short', [0xe2, 0x82]],
      ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]]
    ]
    for (const [label, bytes] of invalid) {
      // Twice: a refused body is never remembered, so never let through as a known one.
      for (const round of [1, 2]) {
        const res = await app.inject({ method, url: URL_, headers: JSON_, payload: withBytes(bytes) })
        t.equal(res.statusCode, 400, `${label} (${round}): 400`)
        t.match(res.json(), { code: 'FST_LUNA_INVALID_UTF8', message: 'body is not valid UTF-8' }, label)
      }
    }
    t.same((await app.lunaRegistry.store.list()).map((record) => record.description ?? record.version), method === 'PUT' ? ['kept'] : [], 'nothing was written')
    const text = 'U+FFFD as sent: \uFFFD, é, 🚀'
    const valid = await app.inject({ method, url: URL_, headers: JSON_, payload: Buffer.from(JSON.stringify(info('orders', { description: text }))) })
    t.equal(valid.statusCode, method === 'POST' ? 201 : 200)
    t.equal(valid.json().description, text, 'valid UTF-8 is read as it was sent')
  })
}

t.test('a charset other than UTF-8 is a 415 naming the rule, even for a remembered body', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders'))
  t.equal((await app.inject({ method: 'POST', url: URL_, headers: JSON_, payload: text })).statusCode, 201)
  for (const [type, charset] of [
    ['application/json; charset=latin1', 'latin1'],
    ['application/json; charset=ISO-8859-1', 'ISO-8859-1'],
    ['application/json;charset="utf-16"', 'utf-16'],
    ['application/json; foo=bar; CHARSET=us-ascii', 'us-ascii'],
    ['application/json; charset=', '']
  ]) {
    for (const method of ['POST', 'PUT'] as const) {
      const res = await app.inject({ method, url: URL_, headers: { ...AUTH, 'content-type': type }, payload: text })
      t.equal(res.statusCode, 415, `${method} ${type}`)
      t.match(res.json(), { code: 'FST_LUNA_UNSUPPORTED_CHARSET', message: `Content-Type charset "${charset}" is not supported: send UTF-8` })
    }
  }
  for (const type of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"', 'application/json; charset=utf8', 'application/json; foo=bar']) {
    t.equal((await app.inject({ method: 'PUT', url: URL_, headers: { ...AUTH, 'content-type': type }, payload: text })).statusCode, 200, type)
  }
})

t.test('Content-Encoding: gzip and deflate bodies are decoded, then read as any other', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders', { description: 'sent compressed, é 🚀' }))
  const cases: Array<[string, Buffer, number]> = [
    ['gzip', gzipSync(text), 201],
    ['GZIP', gzipSync(text), 200],
    ['x-gzip', gzipSync(text), 200],
    [' deflate ', deflateSync(text), 200],
    ['identity', Buffer.from(text), 200]
  ]
  for (const [encoding, payload, status] of cases) {
    const res = await app.inject({ method: 'POST', url: URL_, headers: { ...JSON_, 'content-encoding': encoding }, payload })
    t.equal(res.statusCode, status, encoding)
    t.equal(res.json().description, 'sent compressed, é 🚀', `${encoding}: decoded`)
  }
  const heartbeat = await app.inject({ method: 'PUT', url: URL_, headers: { ...JSON_, 'content-encoding': 'gzip' }, payload: gzipSync(text) })
  t.equal(heartbeat.statusCode, 200, 'a compressed heartbeat')
  const bad = await app.inject({ method: 'POST', url: URL_, headers: { ...JSON_, 'content-encoding': 'gzip' }, payload: gzipSync(withBytes([0xff])) })
  t.match(bad.json(), { statusCode: 400, code: 'FST_LUNA_INVALID_UTF8' }, 'what it decodes to follows every rule')
  const empty = await app.inject({ method: 'POST', url: URL_, headers: { ...JSON_, 'content-encoding': 'gzip' }, payload: '' })
  t.match(empty.json(), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' })
})

t.test('Content-Encoding: the body limit is of the decoded body; a bomb is a 413', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders'))
  // JSON allows whitespace after the value: a valid body of exactly the limit, and one byte more.
  const atLimit = text + ' '.repeat(64 * 1024 - text.length)
  const created = await app.inject({ method: 'POST', url: URL_, headers: { ...JSON_, 'content-encoding': 'gzip' }, payload: gzipSync(atLimit) })
  t.equal(created.statusCode, 201, '64 KiB once decoded: accepted')
  // Gzip members one after the other make one body: 60 of a MiB of zeros each, 60 MiB from 61 KB.
  const mebibyte = gzipSync(Buffer.alloc(1024 * 1024))
  const bombs: Array<[string, Buffer]> = [
    ['one byte over', gzipSync(atLimit + ' ')],
    ['60 MiB from 61 KB of gzip', Buffer.concat(Array.from({ length: 60 }, () => mebibyte))],
    ['8 MiB from 8 KB of deflate', deflateSync(Buffer.alloc(8 * 1024 * 1024))]
  ]
  for (const [label, payload] of bombs) {
    t.ok(payload.length < 64 * 1024, `${label}: under the limit as sent (${payload.length} bytes)`)
    const encoding = label.includes('deflate') ? 'deflate' : 'gzip'
    const res = await app.inject({ method: 'PUT', url: URL_, headers: { ...JSON_, 'content-encoding': encoding }, payload })
    t.equal(res.statusCode, 413, label)
    t.match(res.json(), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'body is larger than the limit of 65536 bytes' }, label)
  }
  const sentTooLarge = await app.inject({ method: 'PUT', url: URL_, headers: { ...JSON_, 'content-encoding': 'gzip' }, payload: randomBytes(65 * 1024) })
  t.equal(sentTooLarge.statusCode, 413, 'too large as sent: refused before decoding')
})

t.test('Content-Encoding: another coding is a 415, a body it cannot decode a 400', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders'))
  for (const encoding of ['br', 'compress', 'zstd', 'gzip, deflate', '']) {
    const res = await app.inject({ method: 'POST', url: URL_, headers: { ...JSON_, 'content-encoding': encoding }, payload: text })
    t.equal(res.statusCode, 415, `"${encoding}"`)
    t.match(res.json(), { code: 'FST_LUNA_UNSUPPORTED_CONTENT_ENCODING', message: `Content-Encoding "${encoding}" is not supported: send gzip, deflate or identity` })
  }
  const corrupt: Array<[string, Buffer, RegExp]> = [
    ['gzip', Buffer.from(text), /^body is not valid gzip: incorrect header check$/],
    ['gzip', gzipSync(text).subarray(0, 20), /^body is not valid gzip: unexpected end of file$/],
    ['deflate', gzipSync(text), /^body is not valid deflate: incorrect header check$/]
  ]
  for (const [encoding, payload, message] of corrupt) {
    const res = await app.inject({ method: 'POST', url: URL_, headers: { ...JSON_, 'content-encoding': encoding }, payload })
    t.equal(res.statusCode, 400, String(message))
    t.match(res.json(), { code: 'FST_LUNA_INVALID_CONTENT_ENCODING', message })
  }
  t.same(await app.lunaRegistry.store.list(), [])
})

t.test('a key given twice: the last one wins, as in JSON.parse, on the remembered path too', async (t) => {
  const app = await build(t)
  const text = '{"name":"billing","version":"1.0.0","status":"ok","url":"http://10.0.0.1:8080/",' +
    '"name":"orders","status":"OK","metadata":{"zone":"a","zone":"b"},"version":"2.0.0"}'
  for (const [method, status] of [['POST', 201], ['PUT', 200], ['PUT', 200]] as const) {
    const res = await app.inject({ method, url: URL_, headers: JSON_, payload: text })
    t.equal(res.statusCode, status, method)
    t.match(res.json(), { name: 'orders', version: '2.0.0', reportedStatus: 'OK', metadata: { zone: 'b' } }, `${method}: the last of each`)
  }
})

t.test('the other routes under the prefix read a body by the same rules', async (t) => {
  const app = await build(t)
  const url = `${PREFIX}/nothing-here`
  const send = async (headers: Record<string, string>, payload: string | Buffer): Promise<[number, string]> => {
    const res = await app.inject({ method: 'POST', url, headers: { ...JSON_, ...headers }, payload })
    return [res.statusCode, res.json().code]
  }
  t.same(await send({ 'content-encoding': 'gzip' }, gzipSync('{}')), [404, 'FST_LUNA_ROUTE_NOT_FOUND'], 'a body that follows them: the route is not found')
  t.same(await send({ 'content-type': 'application/json; charset=latin1' }, '{}'), [415, 'FST_LUNA_UNSUPPORTED_CHARSET'])
  t.same(await send({ 'content-encoding': 'br' }, '{}'), [415, 'FST_LUNA_UNSUPPORTED_CONTENT_ENCODING'])
  t.same(await send({}, withBytes([0xff])), [400, 'FST_LUNA_INVALID_UTF8'])
  t.same(await send({}, `{"extra":${nestedArrays(12_000)}}`), [400, 'FST_LUNA_BODY_TOO_DEEP'])
})
