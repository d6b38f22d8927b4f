import type { InstanceUpdate } from 'luna-registry'
import type { HeartbeatReply } from './scripts.js'

/** Heartbeats sent in one script call at most; more wait for the next. */
const HEARTBEAT_BATCH = 256

interface PendingHeartbeat {
  update: InstanceUpdate
  resolve: (reply: HeartbeatReply | null) => void
  reject: (error: unknown) => void
}

/** Sends a batch of heartbeats in one call; resolves one reply per heartbeat, in their order. */
export type SendHeartbeats = (updates: readonly InstanceUpdate[]) => Promise<Array<HeartbeatReply | null>>

/**
 * Gathers the heartbeats that arrive in one turn of the event loop (the requests read together)
 * and sends them in one script call, so that they share the client's work per command and Redis
 * runs one script. Each is applied as on its own, in the order they came.
 */
export class HeartbeatBatcher {
  readonly #send: SendHeartbeats
  #pending: PendingHeartbeat[] = []

  constructor (send: SendHeartbeats) {
    this.#send = send
  }

  /** The reply to `update`'s heartbeat, or `null` when the instance does not exist. */
  add (update: InstanceUpdate): Promise<HeartbeatReply | null> {
    return new Promise<HeartbeatReply | null>((resolve, reject) => {
      this.#pending.push({ update, resolve, reject })
      if (this.#pending.length === 1) setImmediate(() => { this.#flush() })
    })
  }

  #flush (): void {
    const batch = this.#pending.splice(0, HEARTBEAT_BATCH)
    if (this.#pending.length > 0) setImmediate(() => { this.#flush() })
    const updates = batch.map((pending) => pending.update)
    this.#send(updates).then((replies) => {
      batch.forEach((pending, index) => { pending.resolve(replies[index] ?? null) })
    }, (error: unknown) => {
      for (const pending of batch) pending.reject(error)
    })
  }
}
