// Holds many event stream subscribers open in a process of its own, so parsing their streams
// does not share the load generator's event loop. Started with fork():
//   node subscribers.js <baseUrl> <count>
// Messages to the parent: { type: 'ready', connected, failed, ms } once every stream has its
// snapshot; { type: 'report', ... } when asked with { type: 'report' }; { type: 'delivered' } when
// asked with { type: 'await', instanceId } and every open stream has that registration (or after
// `timeoutMs`). { type: 'close' } ends it.
// A `registered` event whose instance carries `metadata.sentAt` (monotonic milliseconds, see
// stats.ts) counts as one delivery, timed from that moment to its parsing here.
import type { ClientRequest } from 'node:http'
import { inParallel } from './http.js'
import { subscribe } from './sse.js'
import { distribution, monotonicMs, type Distribution } from './stats.js'

export type ParentMessage =
  | { type: 'report' }
  | { type: 'await', instanceId: string, timeoutMs: number }
  | { type: 'close' }

export interface SubscribersReport {
  type: 'report'
  /** Streams still open. */
  open: number
  /** Streams the server closed or dropped. */
  closed: number
  deliveries: number
  /** Delay of every delivery, milliseconds. */
  delay: Distribution
  /** Per registration, the delay until the last subscriber had it. */
  lastDelivery: Distribution
  /** Registrations seen by at least one subscriber. */
  registrations: number
}

export type ChildMessage =
  | { type: 'ready', connected: number, failed: number, ms: number, error?: string }
  | { type: 'delivered', instanceId: string, count: number }
  | SubscribersReport

const [baseUrl = '', countText = '0'] = process.argv.slice(2)
const count = Number(countText)
const send = (message: ChildMessage): void => { process.send?.(message) }

const streams: ClientRequest[] = []
const delays: number[] = []
const perRegistration = new Map<string, { count: number, last: number }>()
let closed = 0
let failed = 0
let firstError: string | undefined
let awaited: { instanceId: string, timer: NodeJS.Timeout } | undefined

function delivered (instanceId: string): number {
  return perRegistration.get(instanceId)?.count ?? 0
}

function settleAwaited (force: boolean): void {
  if (awaited === undefined) return
  const count = delivered(awaited.instanceId)
  if (!force && count < streams.length - closed) return
  clearTimeout(awaited.timer)
  send({ type: 'delivered', instanceId: awaited.instanceId, count })
  awaited = undefined
}

function onRegistered (data: string): void {
  const received = monotonicMs()
  const event = JSON.parse(data) as { instanceId: string, instance?: { metadata?: Record<string, string> } }
  const sentAt = Number(event.instance?.metadata?.sentAt)
  if (!Number.isFinite(sentAt)) return
  const delay = received - sentAt
  delays.push(delay)
  const seen = perRegistration.get(event.instanceId)
  if (seen === undefined) perRegistration.set(event.instanceId, { count: 1, last: delay })
  else {
    seen.count++
    seen.last = Math.max(seen.last, delay)
  }
  if (awaited?.instanceId === event.instanceId) settleAwaited(false)
}

async function connect (): Promise<void> {
  let snapshot!: () => void
  const gotSnapshot = new Promise<void>((resolve) => { snapshot = resolve })
  const req = await subscribe(baseUrl, (event) => {
    if (event.type === 'snapshot') snapshot()
    else if (event.type === 'registered') onRegistered(event.data)
  }, () => { closed++ })
  streams.push(req)
  await gotSnapshot
}

const started = monotonicMs()
await inParallel(Array.from({ length: count }, (_, index) => index), 50, async () => {
  try {
    await connect()
  } catch (error) {
    failed++
    firstError ??= error instanceof Error ? error.message : String(error)
  }
})
send({ type: 'ready', connected: streams.length, failed, ms: monotonicMs() - started, ...(firstError === undefined ? {} : { error: firstError }) })

process.on('message', (message: ParentMessage) => {
  if (message.type === 'report') {
    send({
      type: 'report',
      open: streams.length - closed,
      closed,
      deliveries: delays.length,
      delay: distribution(delays),
      lastDelivery: distribution([...perRegistration.values()].map((seen) => seen.last)),
      registrations: perRegistration.size
    })
  } else if (message.type === 'await') {
    awaited = { instanceId: message.instanceId, timer: setTimeout(() => settleAwaited(true), message.timeoutMs) }
    settleAwaited(false)
  } else if (message.type === 'close') {
    for (const req of streams) req.destroy()
    process.disconnect()
  }
})
