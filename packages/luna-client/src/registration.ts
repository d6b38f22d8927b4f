import { EventEmitter } from 'node:events'
import { constants } from 'node:os'
import { backoff, checkDelay, checkJitter, jittered } from './backoff.js'
import { isTransient, LunaError, type LunaClientError } from './errors.js'
import { notify } from './notify.js'
import type { Transport } from './transport.js'
import type { InstanceInfo, InstanceView, ReportedStatus } from './types.js'
import {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_JITTER,
  instanceIdFor,
  type FailureDetails,
  type RegisterOptions,
  type RegistrationEvents,
  type StopOnSignalsOptions
} from './registration-options.js'

type Settled = { ok: true, instance: InstanceView } | { ok: false, error: Error }

const DEFAULT_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']

/** RFC 7240: the registry answers a heartbeat 204, without the view nobody would read. */
const MINIMAL = { prefer: 'return=minimal' }

/**
 * A registered instance: registers, heartbeats on a timer, registers again when the registry has
 * forgotten it, backs off while the registry is away, and deregisters when told to. Only `ready()`
 * ever rejects, and its timers never keep the process alive.
 */
export class Registration extends EventEmitter<RegistrationEvents> {
  readonly instanceId: string
  readonly heartbeatInterval: number
  readonly #transport: Transport
  readonly #path: string
  readonly #jitter: number
  readonly #initialDelay: number
  readonly #maxDelay: number
  #info: InstanceInfo
  #instance: InstanceView | undefined
  /** Whether the next heartbeat must bring the registry's view back (an `update` waits for it). */
  #wantView = false
  #registered = false
  #failures = 0
  #stopped = false
  #timer: NodeJS.Timeout | undefined
  #running: Promise<InstanceView | undefined> | undefined
  #queued: Promise<InstanceView | undefined> | undefined
  #deregistering: Promise<boolean> | undefined
  #settled: Settled | undefined
  #waiters: Array<(settled: Settled) => void> = []
  #signals: Array<[NodeJS.Signals, () => void]> = []

  constructor (transport: Transport, info: InstanceInfo, options: RegisterOptions = {}) {
    super()
    this.#transport = transport
    this.#info = { ...info }
    this.instanceId = options.instanceId ?? info.instanceId ?? instanceIdFor(info)
    this.#path = `/instances/${encodeURIComponent(this.instanceId)}`
    this.heartbeatInterval = checkDelay('heartbeatInterval', options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL)
    this.#jitter = checkJitter(options.jitter ?? DEFAULT_JITTER)
    this.#maxDelay = checkDelay('backoff.maxDelay', options.backoff?.maxDelay ?? this.heartbeatInterval)
    this.#initialDelay = checkDelay('backoff.initialDelay', options.backoff?.initialDelay ?? Math.min(this.#maxDelay, this.heartbeatInterval / 10))
    if (options.stopOnSignals !== undefined && options.stopOnSignals !== false) {
      this.stopOnSignals(options.stopOnSignals === true ? {} : options.stopOnSignals)
    }
    this.#now()
  }

  /** The info the handle sends with its next heartbeat. */
  get info (): InstanceInfo {
    return { ...this.#info }
  }

  /** The registry's last answer about this instance, if any. */
  get instance (): InstanceView | undefined {
    return this.#instance
  }

  /** Whether the last exchange with the registry left the instance registered. */
  get registered (): boolean {
    return this.#registered && this.#failures === 0 && !this.#stopped
  }

  get stopped (): boolean {
    return this.#stopped
  }

  /**
   * Resolves with the instance once it is registered (at once if it already was). Rejects if the
   * registry refuses it (a 4xx other than 408 and 429; the handle still tries again every
   * heartbeat interval, and a later success resolves later calls) or if it is deregistered first.
   */
  async ready (): Promise<InstanceView> {
    const settled = this.#settled ?? await new Promise<Settled>((resolve) => { this.#waiters.push(resolve) })
    if (!settled.ok) throw settled.error
    return settled.instance
  }

  /**
   * Reports `DOWN` (taking the instance out of rotation while it stays registered) or `OK` with a
   * heartbeat sent at once. Resolves with the registry's view, or `undefined` if the registry could
   * not be told now — the status then goes with the next successful heartbeat.
   */
  async setStatus (status: ReportedStatus): Promise<InstanceView | undefined> {
    if (status !== 'OK' && status !== 'DOWN') throw new TypeError(`luna-client: status must be 'OK' or 'DOWN', got ${String(status)}`)
    return await this.update({ status })
  }

  /** Changes the info (metadata, version, …; not the name) and sends it at once, as `setStatus` does. */
  async update (changes: Partial<Omit<InstanceInfo, 'name' | 'instanceId'>>): Promise<InstanceView | undefined> {
    this.#info = { ...this.#info, ...changes }
    this.#wantView = true
    return await this.#now()
  }

  /**
   * Stops heartbeating and removes the instance from the registry. Resolves `true` once the
   * registry no longer has it, `false` if it could not be reached (it will then turn `DOWN` at its
   * heartbeat timeout). Calling it again returns the same promise.
   */
  deregister (): Promise<boolean> {
    this.#deregistering ??= this.#deregister()
    return this.#deregistering
  }

  /**
   * On the first of `signals` (default SIGTERM and SIGINT): removes its listeners, deregisters,
   * then ends the process as the signal would have — by raising it again when nothing else
   * listens for it (a shell then reports 143 for SIGTERM, 130 for SIGINT), or else with
   * `process.exit(128 + signal number)`, the same status. Other listeners are no proof that
   * someone will exit: libraries listen for signals only to clean up. With `exit: false` it only
   * deregisters and the application exits when it is done. A second signal while deregistering
   * finds no listener of this handle: with no other listener, it ends the process at once.
   */
  stopOnSignals (options: StopOnSignalsOptions = {}): this {
    if (this.#stopped) return this
    const exit = options.exit ?? true
    for (const signal of options.signals ?? DEFAULT_SIGNALS) {
      if (this.#signals.some(([known]) => known === signal)) continue
      const listener = (): void => { this.#onSignal(signal, exit) }
      this.#signals.push([signal, listener])
      process.on(signal, listener)
    }
    return this
  }

  #onSignal (signal: NodeJS.Signals, exit: boolean): void {
    this.#removeSignalListeners()
    this.deregister().then(() => {
      if (!exit) return
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
      else process.exit(128 + (constants.signals[signal] ?? 0))
    })
  }

  #removeSignalListeners (): void {
    for (const [signal, listener] of this.#signals.splice(0)) process.off(signal, listener)
  }

  /** Sends the current info now, after the request in flight if there is one; never overlapping. */
  async #now (): Promise<InstanceView | undefined> {
    if (this.#running === undefined) return await this.#start()
    this.#queued ??= this.#running.then(async () => {
      this.#queued = undefined
      return await this.#start()
    })
    return await this.#queued
  }

  async #start (): Promise<InstanceView | undefined> {
    clearTimeout(this.#timer)
    const running = this.#step().finally(() => {
      if (this.#running === running) this.#running = undefined
    })
    this.#running = running
    return await running
  }

  async #step (): Promise<InstanceView | undefined> {
    if (this.#stopped) return undefined
    const info = this.#info
    let operation: FailureDetails['operation'] = this.#registered ? 'heartbeat' : 'register'
    try {
      if (this.#registered) {
        // The view is asked for only when someone reads it: a call of `update` or `setStatus`,
        // or a listener of 'heartbeat'. Otherwise the registry answers 204, without it.
        const minimal = !this.#wantView && this.listenerCount('heartbeat') === 0
        this.#wantView = false
        const heartbeat = await this.#send(info, minimal)
        if (heartbeat.found) {
          const instance = heartbeat.instance ?? this.#instance!
          this.#succeeded(instance)
          notify(this, 'heartbeat', instance)
          return instance
        }
        // The registry forgot the instance (restarted, evicted it, or someone removed it).
        this.#registered = false
        operation = 'register'
      }
      const { status, body } = await this.#transport.request<InstanceView>('POST', this.#path, info)
      this.#registered = true
      this.#succeeded(body)
      notify(this, 'registered', body, { created: status === 201 })
      return body
    } catch (error) {
      this.#failed(error as LunaClientError, operation)
      return undefined
    }
  }

  /**
   * A heartbeat: `found` is false when the registry answers 404; `instance` is the view, absent
   * when `minimal` asked the registry to leave it out.
   */
  async #send (info: InstanceInfo, minimal: boolean): Promise<{ found: boolean, instance?: InstanceView }> {
    try {
      const { body } = await this.#transport.request<InstanceView | undefined>('PUT', this.#path, info, minimal ? MINIMAL : {})
      return body === undefined ? { found: true } : { found: true, instance: body }
    } catch (error) {
      if (error instanceof LunaError && error.statusCode === 404) return { found: false }
      throw error
    }
  }

  #succeeded (instance: InstanceView): void {
    this.#instance = instance
    this.#failures = 0
    this.#settle({ ok: true, instance })
    this.#schedule(jittered(this.heartbeatInterval, this.#jitter))
  }

  #failed (error: LunaClientError, operation: FailureDetails['operation']): void {
    this.#failures++
    // A refusal needs a person, not a faster retry: try again at the heartbeat's pace.
    const transient = isTransient(error)
    const retryIn = transient
      ? backoff(this.#failures, this.#initialDelay, this.#maxDelay, this.#jitter)
      : jittered(this.heartbeatInterval, this.#jitter)
    if (!transient) this.#settle({ ok: false, error })
    this.#schedule(retryIn)
    notify(this, 'error', error, { operation, retryIn: this.#stopped ? undefined : retryIn })
  }

  #schedule (delay: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.#now() }, delay).unref()
  }

  #settle (settled: Settled): void {
    // The first outcome is what `ready()` reports; a later success still wins over a refusal.
    if (this.#settled?.ok === true) return
    if (this.#settled !== undefined && !settled.ok) return
    this.#settled = settled
    for (const waiter of this.#waiters.splice(0)) waiter(settled)
  }

  async #deregister (): Promise<boolean> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#removeSignalListeners()
    // A registration still in flight could land after the DELETE: let it finish first.
    await this.#queued
    await this.#running
    this.#settle({ ok: false, error: new Error('luna-client: deregistered before the registry accepted the instance') })
    let removed = true
    try {
      await this.#transport.request('DELETE', this.#path)
    } catch (error) {
      const gone = error instanceof LunaError && error.statusCode === 404
      if (!gone) {
        removed = false
        notify(this, 'error', error as LunaClientError, { operation: 'deregister', retryIn: undefined })
      }
    }
    this.#registered = false
    notify(this, 'deregistered', { removed })
    return removed
  }
}
