import { EventEmitter } from 'node:events'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { ServiceView } from 'luna-registry'
import { until } from '../../../test-support/until.js'
import { Renderer, type RenderSource } from '../src/index.js'
import { info, recordingLog, results, startRegistry, tempDir } from './helpers.js'

interface Tap { teardown: (fn: () => unknown) => void }

/** A template that lists the routable services, one per line. */
async function listTemplate (dir: string): Promise<string> {
  const path = join(dir, 'list.eta')
  await writeFile(path, '<% for (const route of it.routes) { %><%= route.name %> <%= route.servers.length %>\n\n<% } %>')
  return path
}

/** A registry stand-in whose listing the test sets, and which can fail. */
class FakeSource extends EventEmitter {
  services: ServiceView[] = []
  failing = false
  lists = 0

  async listServices (): Promise<ServiceView[]> {
    this.lists++
    if (this.failing) throw new Error('store unavailable')
    return this.services
  }

  set (...names: string[]): void {
    this.services = names.map((name) => ({ name, instances: [{ instanceId: `${name}:h:1`, url: 'http://h/', status: 'OK', balancerOptions: { weight: 1 } }] }) as unknown as ServiceView)
    this.emit('registered')
  }
}

function start (t: Tap, renderer: Renderer): Promise<void> {
  t.teardown(() => renderer.close())
  return renderer.start()
}

t.test('writes once at start-up, before start() resolves, then after each change, debounced', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const registry = await startRegistry(t)
  await registry.register('orders:h:1', info('orders', 'http://h/'))
  const renderer = new Renderer({ registry, targets: [{ template: await listTemplate(dir), output }], delay: 50 })
  const seen = results(renderer)
  await start(t, renderer)
  t.same(seen, [{ output, outcome: 'written' }])
  t.equal(await readFile(output, 'utf8'), 'orders 1\n')
  await renderer.start()
  t.equal(seen.length, 1, 'a second start() does nothing')

  await Promise.all(Array.from({ length: 500 }, async (_, i) => await registry.register(`svc-${i % 10}:h${i}:1`, info(`svc-${i % 10}`, 'http://h/'))))
  await until('the burst is rendered', async () => (await readFile(output, 'utf8')).includes('svc-9 50') || undefined)
  t.ok(seen.length - 1 <= 3, `${seen.length - 1} render(s) for 500 registrations`)
})

t.test('a heartbeat that changes nothing renders nothing; one that changes nothing routable writes nothing', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const counter = join(dir, 'runs')
  const registry = await startRegistry(t)
  await registry.register('orders:h:1', info('orders', 'http://h/'))
  const renderer = new Renderer({ registry, targets: [{ template: await listTemplate(dir), output, reload: `echo run >> ${counter}` }], delay: 20 })
  const seen = results(renderer)
  await start(t, renderer)
  const written = await stat(output)

  await registry.heartbeat('orders:h:1', info('orders', 'http://h/'))
  await registry.heartbeat('orders:h:1', { ...info('orders', 'http://h/'), metadata: { zone: 'eu-1' } })
  await until('the metadata change is rendered', () => seen.length === 2 || undefined)
  t.same(seen.map((result) => result.outcome), ['written', 'unchanged'])
  t.equal((await stat(output)).mtimeMs, written.mtimeMs, 'the file was not written again')
  t.equal(await readFile(counter, 'utf8'), 'run\n', 'the command ran once, at start-up')

  await registry.heartbeat('orders:h:1', info('orders', 'http://h/', 1, 'DOWN'))
  await until('the status change is rendered', () => seen.length === 3 || undefined)
  t.equal(seen[2]!.outcome, 'written')
  t.equal(await readFile(output, 'utf8'), '')
  t.equal(await readFile(counter, 'utf8'), 'run\nrun\n')
})

t.test('a failed test puts the previous file back, or removes a file that was not there', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const source = new FakeSource()
  source.set('broken')
  const { lines, log } = recordingLog()
  const test = `if grep -q broken ${output}; then echo "unknown directive broken" >&2; exit 3; fi`
  const renderer = new Renderer({ registry: source as unknown as RenderSource, targets: [{ template: await listTemplate(dir), output, test }], delay: 20, log })
  const seen = results(renderer)
  await start(t, renderer)
  t.same(seen, [{ output, outcome: 'rejected' }])
  await t.rejects(readFile(output), { code: 'ENOENT' }, 'there was no file before: there is none after')
  t.match(lines.error, [[{ output, command: test, exit: 3, said: 'unknown directive broken' }, /rejected the new .*out\.conf, the previous file is back: unknown directive broken$/]])

  source.set('orders')
  await until('orders is written', () => seen.length === 2 || undefined)
  t.equal(seen[1]!.outcome, 'written')
  source.set('orders', 'broken')
  await until('broken is rejected', () => seen.length === 3 || undefined)
  t.equal(seen[2]!.outcome, 'rejected')
  t.equal(await readFile(output, 'utf8'), 'orders 1\n')
  source.set('orders')
  await until('the next change is rendered', () => seen.length === 4 || undefined)
  t.equal(seen[3]!.outcome, 'unchanged', 'the file in use is what it would write')
})

t.test('a failed reload keeps the file, is logged, and is tried again at the next change', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const running = join(dir, 'running')
  const source = new FakeSource()
  const { lines, log } = recordingLog()
  const reload = `test -e ${running} || { echo "nginx is not running" >&2; exit 1; }`
  const renderer = new Renderer({ registry: source as unknown as RenderSource, targets: [{ template: await listTemplate(dir), output, reload }], delay: 20, log })
  const seen = results(renderer)
  await start(t, renderer)
  t.same(seen, [{ output, outcome: 'not reloaded' }])
  t.equal(await readFile(output, 'utf8'), '', 'the file is written all the same')
  t.match(lines.warn, [[{ output, exit: 1, said: 'nginx is not running' }, /"test -e .*" failed; the next change tries again: nginx is not running$/]])

  await writeFile(running, '')
  source.emit('deregistered')
  await until('the next change', () => seen.length === 2 || undefined)
  t.equal(seen[1]!.outcome, 'written', 'the same text, not yet reloaded: written and reloaded again')
})

t.test('a command that runs too long is killed and counts as failed', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const { lines, log } = recordingLog()
  const renderer = new Renderer({ registry: new FakeSource() as unknown as RenderSource, targets: [{ template: await listTemplate(dir), output, test: 'sleep 5' }], commandTimeout: 100, log })
  const seen = results(renderer)
  await start(t, renderer)
  t.same(seen, [{ output, outcome: 'rejected' }])
  t.match(lines.error, [[{ exit: 'SIGKILL' }]])
})

t.test('a template or a write that fails leaves the file as it was', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const template = join(dir, 'unsafe.eta')
  await writeFile(template, '<% for (const s of it.services) { %><%= s.instances[0].url %>;<% } %>')
  const source = new FakeSource()
  source.set('orders')
  source.services[0]!.instances[0]!.url = 'http://h/;} server {'
  const { lines, log } = recordingLog()
  const renderer = new Renderer({ registry: source as unknown as RenderSource, targets: [{ template, output }, { template, output: join(dir, 'missing', 'out.conf') }, { template, output: dir }], log })
  const seen = results(renderer)
  await start(t, renderer)
  t.same(seen.map((result) => result.outcome), ['failed', 'failed', 'failed'])
  await t.rejects(readFile(output), { code: 'ENOENT' })
  t.match(lines.error[0], [{ err: { name: 'UnsafeValueError' } }, /could not render .*out\.conf; the file is as it was/])

  source.services[0]!.instances[0]!.url = 'http://h/'
  source.emit('status')
  await until('the next change is rendered', () => seen.length === 6 || undefined)
  t.same(seen.slice(3).map((result) => result.outcome), ['written', 'failed', 'failed'])
  t.match(lines.error.slice(3), [[{ err: { code: 'ENOENT' } }], [{ err: { code: 'EISDIR' } }]], 'no directory; a directory in the way')
})

t.test('a registry that cannot be read: said once, retried until it answers', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const source = new FakeSource()
  source.failing = true
  const { lines, log } = recordingLog()
  const renderer = new Renderer({ registry: source as unknown as RenderSource, targets: [{ template: await listTemplate(dir), output }], delay: 20, log })
  const seen = results(renderer)
  await start(t, renderer)
  t.same(seen, [])
  await until('a few retries', () => source.lists >= 3 || undefined)
  t.equal(lines.warn.length, 1)
  t.match(lines.warn[0], [{ err: { message: 'store unavailable' } }, /cannot read the registry/])
  source.failing = false
  source.set('orders')
  await until('it renders once the registry answers', () => seen.length === 1 || undefined)
  t.equal(await readFile(output, 'utf8'), 'orders 1\n')
  t.match(lines.info, [['luna-render: the registry answers again'], [{ output, routes: 1 }, /wrote/]])
})

t.test('changes during a render get a render of their own; close() waits for the one under way', async (t) => {
  const dir = await tempDir(t)
  const output = join(dir, 'out.conf')
  const source = new FakeSource()
  const renderer = new Renderer({ registry: source as unknown as RenderSource, targets: [{ template: await listTemplate(dir), output, reload: 'sleep 0.3' }], delay: 10 })
  const seen = results(renderer)
  await start(t, renderer)
  source.set('a')
  await until('the render is under way', () => source.lists === 2 || undefined)
  source.set('a', 'b')
  source.emit('resync')
  await until('the change during the render is rendered', () => seen.length === 3 || undefined)
  t.equal(await readFile(output, 'utf8'), 'a 1\nb 1\n')

  source.set('c')
  await until('the next render is under way', () => source.lists === 4 || undefined)
  await renderer.close()
  t.equal(seen.length, 4, 'close() resolved after the render under way')
  source.set('d')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(source.lists, 4, 'nothing renders after close()')
  t.equal(source.listenerCount('registered'), 0)
})
