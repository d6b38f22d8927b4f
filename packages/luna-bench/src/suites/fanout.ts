import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { request, sleep } from '../http.js'
import { compare, roundsTable, type LoadTarget } from '../load.js'
import { AUTHORIZATION, instance, instancePath, instances } from '../payload.js'
import { exited, startLuna, stopAll, track, type ServerProcess } from '../processes.js'
import { checkHeartbeat, HEARTBEAT_HEADERS, heartbeatRequests, registerAll } from '../registration.js'
import type { Figure, Table } from '../report.js'
import { monotonicMs } from '../stats.js'
import type { ChildMessage, SubscribersReport } from '../subscribers.js'
import type { Suite } from '../suite.js'

/** Milliseconds between one registration reaching every subscriber and the next one's POST. */
const PAUSE_MS = 20

class Subscribers {
  readonly child: ChildProcess
  readonly #waiting: Array<{ resolve: (message: ChildMessage) => void, reject: (error: Error) => void }> = []

  constructor (baseUrl: string, count: number) {
    this.child = fork(fileURLToPath(new URL('../subscribers.js', import.meta.url)), [baseUrl, String(count)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    track(this.child)
    this.child.on('message', (message: ChildMessage) => this.#waiting.shift()?.resolve(message))
    this.child.on('exit', (code) => {
      for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(`the subscribers exited with code ${code ?? 'null'}`))
    })
  }

  /** The next message from the subscribers' process. */
  async next (timeoutMs: number): Promise<ChildMessage> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the subscribers did not answer within ${timeoutMs / 1000} s`)), timeoutMs)
      this.#waiting.push({
        resolve: (message) => {
          clearTimeout(timer)
          resolve(message)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        }
      })
    })
  }

  async report (): Promise<SubscribersReport> {
    const answer = this.next(30_000)
    this.child.send({ type: 'report' })
    const message = await answer
    if (message.type !== 'report') throw new Error(`the subscribers answered ${message.type}`)
    return message
  }

  /** Resolves once every open stream has the registration of `instanceId`, or after 5 s. */
  async delivered (instanceId: string): Promise<void> {
    const answer = this.next(10_000)
    this.child.send({ type: 'await', instanceId, timeoutMs: 5_000 })
    const message = await answer
    if (message.type !== 'delivered') throw new Error(`the subscribers answered ${message.type}`)
  }

  async close (): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'close' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000)
    await exited(this.child)
    clearTimeout(timer)
  }
}

/**
 * Registers `count` new instances one at a time, each stamped with the moment its POST is sent;
 * the next one goes `PAUSE_MS` after every subscriber has the previous one, so each delay is that
 * of one fan-out, not of a queue of them.
 */
async function timedRegistrations (baseUrl: string, count: number, subscribers: Subscribers): Promise<void> {
  for (let index = 0; index < count; index++) {
    // Far from the heartbeat fleet's indices, so each is a new instance.
    const probe = instance(1_000_000 + index, 7, { sentAt: monotonicMs().toFixed(3) })
    const response = await request(`${baseUrl}${instancePath(probe.id)}`, { method: 'POST', headers: { authorization: AUTHORIZATION }, body: probe.body })
    if (response.status !== 201) throw new Error(`POST ${instancePath(probe.id)} answered ${response.status}`)
    await subscribers.delivered(probe.id)
    await sleep(PAUSE_MS)
  }
}

/**
 * Heartbeat throughput of a luna-server holding many event stream subscribers against one holding
 * none (A/B rounds), then the delay from a registration's POST to its event at the subscribers.
 */
export const fanout: Suite = {
  name: 'fanout',
  summary: 'heartbeats with 1 000 event stream subscribers against none; registration-to-event delay',
  inFullRun: true,
  async run ({ config, log }) {
    let withSubscribers: ServerProcess | undefined
    let without: ServerProcess | undefined
    let subscribers: Subscribers | undefined
    try {
      withSubscribers = await startLuna({ name: 'luna-server (subscribers)' })
      without = await startLuna({ name: 'luna-server (none)' })
      const fleet = instances(config.fanoutInstances, Math.max(1, Math.round(config.fanoutInstances / 10)))
      log(`  registering ${fleet.length} instances on both servers`)
      await registerAll(withSubscribers.url, fleet)
      await registerAll(without.url, fleet)
      await checkHeartbeat(withSubscribers.url, fleet[0]!, 'luna-server')

      log(`  connecting ${config.subscribers} subscribers from a process of their own`)
      subscribers = new Subscribers(withSubscribers.url, config.subscribers)
      const ready = await subscribers.next(180_000)
      if (ready.type !== 'ready') throw new Error(`the subscribers answered ${ready.type}`)
      log(`  ${ready.connected} subscribers connected in ${(ready.ms / 1000).toFixed(1)} s` +
        (ready.failed > 0 ? `, ${ready.failed} failed (${ready.error ?? ''})` : ''))
      if (ready.connected === 0) throw new Error(`no subscriber could connect: ${ready.error ?? ''}`)

      const requests = heartbeatRequests(fleet)
      const target = (label: string, url: string): LoadTarget => ({ label, url, method: 'PUT', headers: HEARTBEAT_HEADERS, requests })
      const result = await compare(
        target(`luna-server, ${ready.connected} subscribers`, withSubscribers.url),
        target('luna-server, no subscribers', without.url),
        config, log)
      const afterLoad = await subscribers.report()

      log(`  ${config.registrations} registrations, each ${PAUSE_MS} ms after the last subscriber had the previous one`)
      await timedRegistrations(withSubscribers.url, config.registrations, subscribers)
      const expected = config.registrations * afterLoad.open
      let delivered = await subscribers.report()
      for (let waited = 0; delivered.deliveries < expected && waited < 5_000; waited += 250) {
        await sleep(250)
        delivered = await subscribers.report()
      }
      log(`  ${delivered.deliveries} of ${expected} deliveries, p99 ${delivered.delay.p99.toFixed(1)} ms`)

      const complete = delivered.deliveries === expected && delivered.open === ready.connected
      const loadValid = result.a.failures === 0 && result.b.failures === 0
      const figures: Figure[] = [
        { name: `heartbeats, ${ready.connected} subscribers`, value: result.a.rps, unit: 'req/s', valid: result.a.failures === 0 },
        { name: 'heartbeats, no subscribers', value: result.b.rps, unit: 'req/s', valid: result.b.failures === 0 },
        {
          name: 'with / without subscribers',
          value: result.ratio,
          unit: 'ratio',
          valid: loadValid,
          note: `per round ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}; p99 ${result.a.p99} ms with, ${result.b.p99} ms without`
        },
        { name: 'registration to event, p50', value: delivered.delay.p50, unit: 'ms', valid: complete },
        {
          name: 'registration to event, p99',
          value: delivered.delay.p99,
          unit: 'ms',
          valid: complete,
          note: `${delivered.deliveries} of ${expected} deliveries (${config.registrations} registrations × ${afterLoad.open} subscribers)` +
            `; ${ready.connected - delivered.open} subscribers dropped or closed`
        },
        { name: 'registration to last subscriber, p99', value: delivered.lastDelivery.p99, unit: 'ms', valid: complete }
      ]
      const tables: Table[] = [
        roundsTable(`heartbeats, ${config.connections} connections, ${config.duration} s rounds, ${fleet.length} instances`, result),
        {
          title: 'registration to event, ms',
          header: ['measure', 'samples', 'p50', 'p90', 'p99', 'max'],
          rows: [
            ['each delivery', String(delivered.delay.count), ...[delivered.delay.p50, delivered.delay.p90, delivered.delay.p99, delivered.delay.max].map((v) => v.toFixed(1))],
            ['last subscriber of each', String(delivered.lastDelivery.count), ...[delivered.lastDelivery.p50, delivered.lastDelivery.p90, delivered.lastDelivery.p99, delivered.lastDelivery.max].map((v) => v.toFixed(1))]
          ]
        }
      ]
      return { figures, tables, data: { ready, comparison: result, afterLoad, delivered, pauseMs: PAUSE_MS } }
    } finally {
      await subscribers?.close()
      await stopAll([withSubscribers, without])
    }
  }
}
