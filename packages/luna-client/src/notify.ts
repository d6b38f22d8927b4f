import type { EventEmitter } from 'node:events'

/**
 * Emits without letting a listener's exception into the client's own loops: it is thrown again
 * on the next tick, as an uncaught exception, as it would be from any other I/O callback. An
 * `error` nobody listens to is dropped: the client recovers from failures by itself, and an
 * unheard `error` must not crash a service because its registry is away.
 */
export function notify (emitter: EventEmitter<any>, name: string, ...args: unknown[]): void {
  if (name === 'error' && emitter.listenerCount('error') === 0) return
  try {
    emitter.emit(name, ...args)
  } catch (error) {
    process.nextTick(() => { throw error })
  }
}
