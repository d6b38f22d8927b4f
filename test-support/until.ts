import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` every 20 ms until it returns something other than `undefined`, and returns it;
 * throws naming `what` once `timeout` ms have passed. For tests that watch real processes.
 */
export async function until<T> (what: string, check: () => Promise<T | undefined> | T | undefined, timeout = 5000): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(20)
  }
}
