// Run with fork() and node --expose-gc: registers many instances in a luna-server built in this
// process and reports the heap they take and what a sweeper tick costs, over IPC.
//   node --expose-gc scale-probe.js <instances> <services>
// The registry's clock is driven by hand, so a tick finds exactly the instances meant to expire.
import { performance } from 'node:perf_hooks'
import type { LunaRegistry } from 'luna-registry'
import { buildServer } from 'luna-server'
import { instance, instancePath } from './payload.js'
import { HEARTBEAT_HEADERS } from './registration.js'
import { distribution, type Distribution } from './stats.js'

export interface ScaleProbeReport {
  instances: number
  services: number
  /** Bytes after a full collection, before and after registering. */
  heapBefore: number
  heapAfter: number
  registerMs: number
  /** Milliseconds per `sweep()` while no deadline passes. */
  idleTick: Distribution
  /** Milliseconds per `sweep()` when 1% of the instances pass their deadline since the last tick. */
  expiringTick: Distribution
  /** CPU milliseconds of the same ticks: what the tick costs, whatever else the machine runs. */
  expiringTickCpu: Distribution
  /** The longest the event loop went without a turn during each of those ticks, milliseconds. */
  expiringTickBlock: Distribution
  /** `status` events seen while the 1% ticks ran; each instance times out exactly once. */
  timeouts: number
}

const [countText = '100000', servicesText = '1000'] = process.argv.slice(2)
const count = Number(countText)
const services = Number(servicesText)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('scale-probe needs node --expose-gc')

function settle (): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc!()
  return process.memoryUsage()
}

const T0 = Date.UTC(2030, 0, 1)
let clock = T0
const app = buildServer({ logLevel: 'silent', now: () => clock })
await app.ready()
const registry: LunaRegistry = app.lunaRegistry
// The ticks below are called by hand; the timer would run them on its own schedule.
registry.stop()

/** Over the plugin's routes, as a client sends it, so what the routes keep per instance is counted too. */
async function send (method: 'POST' | 'PUT', id: string, body: string): Promise<void> {
  const response = await app.inject({ method, url: instancePath(id), headers: HEARTBEAT_HEADERS, payload: body })
  if (response.statusCode >= 300) throw new Error(`${method} ${id} answered ${response.statusCode}: ${response.body}`)
}

const before = settle()
// 1% of the instances share each millisecond of registration time, so each later tick can be
// made to find exactly 1% of them past their deadline. Each registers, then heartbeats once with
// the same body, as every instance does within seconds of starting.
const batch = Math.max(1, Math.round(count / 100))
const registerStarted = performance.now()
for (let index = 0; index < count; index++) {
  clock = T0 + Math.floor(index / batch)
  const { id, body } = instance(index, services)
  await send('POST', id, body)
  await send('PUT', id, body)
}
const registerMs = performance.now() - registerStarted
const after = settle()

async function timeTick (): Promise<number> {
  const started = performance.now()
  await registry.sweep()
  return performance.now() - started
}

const batches = Math.ceil(count / batch)
clock = T0 + batches + 10
const idle: number[] = []
for (let tick = 0; tick < 200; tick++) idle.push(await timeTick())

let timeouts = 0
registry.on('status', () => { timeouts++ })

// Warm-up, untimed: ten more batches, a second older than the measured ones, time out first, so
// the measured ticks run warm code, as a registry that has been up for a while does.
const WARM_BATCHES = 10
const WARM_BEFORE = 1000
for (let index = 0; index < WARM_BATCHES * batch; index++) {
  clock = T0 - WARM_BEFORE + Math.floor(index / batch)
  const { id, body } = instance(count + index, services)
  await send('POST', id, body)
}
for (let tick = 0; tick < WARM_BATCHES; tick++) {
  clock = T0 - WARM_BEFORE + registry.heartbeatTimeout + tick
  await registry.sweep()
}
if (timeouts !== WARM_BATCHES * batch) throw new Error(`the warm-up saw ${timeouts} timeouts, expected ${WARM_BATCHES * batch}`)
timeouts = 0

// The registration loop above left a heap's worth of garbage; a collection of it landing in a
// timed tick would be the setup's cost, not the sweeper's. Collections the ticks cause count.
settle()
/**
 * A tick timed three ways: its duration, its CPU time, and the longest stretch in which the event
 * loop had no turn (a chain of `setImmediate` notes the gaps), which is what other requests wait.
 */
async function measureTick (): Promise<{ ms: number, cpu: number, block: number }> {
  let last = performance.now()
  let block = 0
  let running = true
  const turn = (): void => {
    const at = performance.now()
    block = Math.max(block, at - last)
    last = at
    if (running) setImmediate(turn)
  }
  setImmediate(turn)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await registry.sweep()
  const ms = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  running = false
  block = Math.max(block, performance.now() - last)
  return { ms, cpu: (cpu.user + cpu.system) / 1000, block }
}

const expiring: number[] = []
const expiringCpu: number[] = []
const expiringBlock: number[] = []
for (let tick = 0; tick < batches; tick++) {
  clock = T0 + registry.heartbeatTimeout + tick
  const { ms, cpu, block } = await measureTick()
  expiring.push(ms)
  expiringCpu.push(cpu)
  expiringBlock.push(block)
}

const report: ScaleProbeReport = {
  instances: count,
  services,
  heapBefore: before.heapUsed,
  heapAfter: after.heapUsed,
  registerMs,
  idleTick: distribution(idle),
  expiringTick: distribution(expiring),
  expiringTickCpu: distribution(expiringCpu),
  expiringTickBlock: distribution(expiringBlock),
  timeouts
}
await app.close()
process.send?.(report)
process.disconnect?.()
