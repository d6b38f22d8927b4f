import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import t, { type Test } from 'tap'
import { within } from '../../../test-support/until.js'
import { readTlsFiles } from '../src/access-files.js'
import { basic, listeningUrl, logged, server, WAIT } from './child.js'

const PASSWORD = 'the ops password'

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl in `dir`. */
function certificate (t: Test, dir: string, name: string): { cert: string, key: string } | undefined {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' })
  if (made.error !== undefined || made.status !== 0) {
    const reason = `openssl could not make a certificate: ${made.error?.message ?? made.stderr}`
    if (process.env['CI'] === 'true') t.fail(reason)
    else t.skip(reason, () => {})
    return undefined
  }
  return { cert, key }
}

/** The certificate the server at `url` presents, trusted as `ca`. */
async function presented (url: URL, ca: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' }, () => {
      const subject = socket.getPeerX509Certificate()?.subject ?? ''
      socket.end()
      resolve(subject)
    }).on('error', reject)
  })
}

t.test('LUNA_TLS_CERT and LUNA_TLS_KEY serve HTTPS; SIGHUP reads them again', async (t) => {
  const dir = t.testdir({})
  const first = certificate(t, dir, 'first')
  const second = certificate(t, dir, 'second')
  if (first === undefined || second === undefined) return
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') }
  const install = (pair: { cert: string, key: string }): void => {
    writeFileSync(live.cert, readFileSync(pair.cert))
    writeFileSync(live.key, readFileSync(pair.key))
  }
  install(first)
  const proc = server(t, { LUNA_TLS_CERT: live.cert, LUNA_TLS_KEY: live.key, LUNA_AUTH_PASSWORD: PASSWORD })
  const url = await listeningUrl(proc)
  t.equal(url.protocol, 'https:', 'the address logged is an https one')
  const ca = readFileSync(first.cert, 'utf8')
  const status = await new Promise<number>((resolve, reject) => {
    httpsRequest(new URL('/registry/v1/services', url), { ca, headers: { authorization: basic('admin', PASSWORD) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).on('error', reject).end()
  })
  t.equal(status, 200, 'the registry over HTTPS, trusted with the certificate as its CA')
  t.equal(await presented(url, ca), 'CN=first')
  await t.rejects(fetch(new URL('/healthz', url.href.replace('https:', 'http:'))), 'plain HTTP is not served')

  install(second)
  proc.child.kill('SIGHUP')
  await logged(proc, /^SIGHUP: .*live\.crt and .*live\.key reloaded$/)
  t.equal(await presented(url, readFileSync(second.cert, 'utf8')), 'CN=second', 'new connections get the new certificate')

  writeFileSync(live.key, 'not a key')
  proc.child.kill('SIGHUP')
  t.match((await logged(proc, /^SIGHUP: certificate kept as it was/))['msg'], /do not make a TLS certificate and key/)
  t.equal(await presented(url, readFileSync(second.cert, 'utf8')), 'CN=second', 'a bad pair leaves the one in place')
})

t.test('certificate files that cannot serve stop the start with exit 2', async (t) => {
  const dir = t.testdir({ 'bad.crt': 'not a certificate', 'bad.key': 'not a key' })
  await t.rejects(readTlsFiles(join(dir, 'nowhere.crt'), join(dir, 'bad.key')), { message: /^LUNA_TLS_CERT \(--tls-cert\) .*nowhere\.crt: cannot be read: ENOENT/ })
  await t.rejects(readTlsFiles(join(dir, 'bad.crt'), join(dir, 'bad.key')), { name: 'ConfigError', message: /do not make a TLS certificate and key/ })
  const pair = certificate(t, dir, 'good')
  const other = certificate(t, dir, 'other')
  if (pair === undefined || other === undefined) return
  t.same(await readTlsFiles(pair.cert, pair.key), { cert: readFileSync(pair.cert), key: readFileSync(pair.key) })
  await t.rejects(readTlsFiles(pair.cert, other.key), { message: /do not make a TLS certificate and key: .*key values mismatch/ }, 'a key that is not the certificate\'s')
  const proc = server(t, { LUNA_TLS_CERT: join(dir, 'bad.crt'), LUNA_TLS_KEY: join(dir, 'bad.key') })
  t.equal((await within('exit', proc.exited, WAIT))[0], 2)
  t.match(proc.output(), /^luna-server: LUNA_TLS_CERT \(--tls-cert\) .*bad\.crt and LUNA_TLS_KEY \(--tls-key\) .*bad\.key do not make a TLS certificate and key: [^\n]*\n$/)
})
